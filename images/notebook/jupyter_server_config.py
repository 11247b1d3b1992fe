"""jupyterhub-zos: loaded by the notebook server at start (from /usr/local/etc/jupyter,
root's, beside the base image's /etc/jupyter one), before it serves anything.

The user's own processes (a terminal's) run with the server's uid. Made non-dumpable, the
server can no longer be traced or have its memory written by them: ptrace and
/proc/<pid>/mem then need CAP_SYS_PTRACE, which no notebook process has. So no user can
change what their server, on the hub's origin, serves to another user's browser. A child
it starts (a terminal's shell) is dumpable again from its exec: only the server is.

Nor does the server run code of the user's: nbconvert's exporters look for templates in
the working directory (and make the preprocessors a template's conf.json names; the hub
starts the server in /, root's), and a PDF export moves the whole process, for as long
as it runs, into a temporary directory the user owns (nbconvert's `chdir(td)`; two at
once can leave it there): what the server read from its working directory then would be
the user's (an HTML export's templates, nbclassic's exporters, which it makes without
this config). So no PDF export (docker-stacks' base image has no TeX for it anyway), and
no exporter looks in the working directory."""

import ctypes

PR_SET_DUMPABLE = 4

if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
    # A SystemExit, not an exception the config loader would log and go past: no server
    # starts unprotected.
    raise SystemExit(f"jupyterhub-zos: prctl(PR_SET_DUMPABLE, 0) failed: {ctypes.get_errno()}")

c = get_config()  # noqa: F821 (the config loader's)
c.PDFExporter.enabled = False
c.TemplateExporter.extra_template_basedirs = []  # not [os.getcwd()], nbconvert's default
