"""jupyterhub-zos: loaded by the notebook server at start (from /usr/local/etc/jupyter,
root's, beside the base image's /etc/jupyter one), before it serves anything.

The user's own processes (a terminal's) run with the server's uid. Made non-dumpable, the
server can no longer be traced or have its memory written by them: ptrace and
/proc/<pid>/mem then need CAP_SYS_PTRACE, which no notebook process has. So no user can
change what their server, on the hub's origin, serves to another user's browser. A child
it starts (a terminal's shell) is dumpable again from its exec: only the server is."""

import ctypes

PR_SET_DUMPABLE = 4

if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
    # A SystemExit, not an exception the config loader would log and go past: no server
    # starts unprotected.
    raise SystemExit(f"jupyterhub-zos: prctl(PR_SET_DUMPABLE, 0) failed: {ctypes.get_errno()}")
