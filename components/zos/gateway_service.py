"""The gateway's lifecycle on z/OS: (re)start it when its config or token changes, stop
it on destroy before its AT-TLS policy goes (ZOS_KG_LIFECYCLE).

- `process`: a z/OS UNIX process under the gateway's ID, started with `su -s <id>`
  (READ to SURROGAT BPX.SRV.<id>, z/OS UNIX Command Reference, su) unless the SSH user
  is that ID: `python -m kernel_gateway` with JUPYTER_CONFIG_DIR=ZOS_KG_CONFIG_DIR, in
  `/` (its kernels' working directory), its pid and log beside the config. Started means
  its log says the gateway is listening.
- `started-task`: `S <proc>` and `P <proc>` through ZOS_OPERCMD (CANCEL if STOP does not
  end it), `D A,<proc>` to see it run; the procedure's STARTED profile gives it the
  gateway's ID and its environment points at ZOS_KG_CONFIG_DIR (the operator's part).
- `manual`: no step; the `zos_gateway` stack output says what to restart and when.

The step reads the token on stdin like the config step (and, without AT-TLS, the
gateway's PEM files after it), so Pulumi runs it again exactly when the token, the TLS
material or the config's text change; it runs only then, so each run restarts. Replacing
it stops the old gateway first (delete before replace): the old and new step share the
pid file or the started task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pulumi
import pulumi_command as command

from components.gateway.config import ISOLATION_SOURCE
from components.settings import ZosSettings
from components.zos.kg_config import CONFIG_FILE, MODULE_FILE, TLS_FILES, TOKEN_FILE, render_config
from components.zos.script import Step, make_step

PID_FILE = "kg-gateway.pid"
LOG_FILE = "kg-gateway.log"
# What Kernel Gateway logs once it listens: 3.x "Jupyter Kernel Gateway 3.0.1 is
# available at http://...", 2.x "Jupyter Kernel Gateway at http://..." (gatewayapp.py).
READY = "Jupyter Kernel Gateway.* at http"


def gateway_files(zos: ZosSettings) -> tuple[str, ...]:
    """The files the gateway reads at start, in ZOS_KG_CONFIG_DIR."""
    return (CONFIG_FILE, MODULE_FILE, TOKEN_FILE, *(() if zos.attls else TLS_FILES))


def restart_note(zos: ZosSettings) -> str:
    """What the stack output tells the operator, by ZOS_KG_LIFECYCLE."""
    files = ", ".join(gateway_files(zos))
    if zos.kg_lifecycle == "manual":
        return (
            f"The operator runs the gateway (ZOS_KG_LIFECYCLE=manual): restart it under "
            f"{zos.kg_user} whenever `pulumi up` changes its config or token (the "
            f"kg-config step; files {files} in {zos.kg_config_dir}), and stop it before "
            "`pulumi destroy` removes its AT-TLS policy."
        )
    if zos.kg_lifecycle == "process":
        return (
            f"jupyterhub-zos runs the gateway as a z/OS UNIX process under {zos.kg_user} "
            f"({zos.kg_python} -m kernel_gateway, pid in {zos.kg_config_dir}/{PID_FILE}) and "
            "restarts it when its config or token changes."
        )
    return (
        f"jupyterhub-zos runs the gateway as the started task {zos.kg_started_task} "
        f"(S/P {zos.kg_started_task}) and restarts it when its config or token changes."
    )


_SC2016 = "# shellcheck disable=SC2016 # as_kg's shell, as the gateway's ID, expands these\n"
_PROCESS = r"""
ME=$(id -un | tr '[:lower:]' '[:upper:]')
# as_kg CMD: run CMD (sh) as the gateway's ID; the values travel in the environment.
as_kg() {
  if [ "$ME" = "$KG" ]; then /bin/sh -c "$1"; else su -s "$KG" -c "$1"; fi
}
export JHZ_DIR="$DIR" JHZ_PY="$PY" JHZ_PID="$DIR/$PID_FILE" JHZ_LOG="$DIR/$LOG_FILE" \
  JHZ_READY="$READY"
unset KG_AUTH_TOKEN
# running: the pid file names a live Kernel Gateway (not a reused pid, not a zombie).
# shellcheck disable=SC2016 # as_kg's shell, as the gateway's ID, expands these
running() {
  as_kg 'p=$(cat "$JHZ_PID" 2>/dev/null) || exit 1
    ps -p "$p" -o args= 2>/dev/null | grep -q kernel_gateway'
}
# shellcheck disable=SC2016 # as_kg's shell, as the gateway's ID, expands these
stop_gateway() {
  if ! running; then
    as_kg 'rm -f "$JHZ_PID"'
    return 0
  fi
  say "stopping the gateway (pid $(as_kg 'cat "$JHZ_PID"'))"
  as_kg 'kill -TERM "$(cat "$JHZ_PID")" 2>/dev/null || true'
  tries=0
  while running; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      say "the gateway did not stop on SIGTERM: SIGKILL"
      as_kg 'kill -KILL "$(cat "$JHZ_PID")" 2>/dev/null || true'
      break
    fi
    sleep 1
  done
  as_kg 'rm -f "$JHZ_PID"'
  say "stopped the gateway"
}
# shellcheck disable=SC2016 # as_kg's shell, as the gateway's ID, expands these
start_gateway() {
  # Kernels start in the gateway's working directory: /, not the config directory
  # with the token file (README: kernels' working directory on z/OS).
  as_kg 'cd / || exit 1
    : >"$JHZ_LOG"
    JUPYTER_CONFIG_DIR="$JHZ_DIR" nohup "$JHZ_PY" -m kernel_gateway >>"$JHZ_LOG" 2>&1 </dev/null &
    echo $! >"$JHZ_PID"'
  tries=0
  until as_kg 'grep -q "$JHZ_READY" "$JHZ_LOG"'; do
    tries=$((tries + 1))
    if ! running || [ "$tries" -ge 60 ]; then
      die "the gateway did not start under $KG; the end of $DIR/$LOG_FILE:
$(as_kg 'tail -n 20 "$JHZ_LOG"')"
    fi
    sleep 1
  done
  say "the gateway runs under $KG (pid $(as_kg 'cat "$JHZ_PID"'))"
}
"""

_STARTED_TASK = r"""
op() {
  op_rc=0
  op_out=$("$OPERCMD" "$1" 2>&1 </dev/null) || op_rc=$?
  say "RC $op_rc: $1"
  [ "$op_rc" -eq 0 ] || die "$1 failed (RC $op_rc):
$op_out"
}
# running: D A lists the started task as active (its name first on a line of its own).
running() {
  op "D A,$STC"
  printf '%s\n' "$op_out" | awk -v j="$STC" '$1 == j && $2 != "NOT" { f = 1 } END { exit !f }'
}
stop_gateway() {
  if ! running; then return 0; fi
  op "P $STC"
  tries=0
  while running; do
    tries=$((tries + 1))
    if [ "$tries" -eq 30 ]; then op "C $STC"; fi
    if [ "$tries" -ge 60 ]; then die "the started task $STC did not end after P and C"; fi
    sleep 1
  done
  say "stopped the started task $STC"
}
start_gateway() {
  op "S $STC"
  tries=0
  until running; do
    tries=$((tries + 1))
    [ "$tries" -lt 30 ] || die "the started task $STC did not become active after S $STC"
    sleep 1
  done
  say "the started task $STC is active"
}
"""


def service_step(zos: ZosSettings, stack: str) -> Step | None:
    """The step that (re)starts and stops the gateway, or None when the operator does."""
    if zos.kg_lifecycle == "manual":
        return None
    # The config and module as rendered: their change changes this script, so the step
    # runs (and restarts the gateway) after the config step wrote them.
    rendered = hashlib.sha256(
        (render_config(zos) + ISOLATION_SOURCE.read_text()).encode()
    ).hexdigest()
    variables: dict[str, str | int] = {
        "KG": zos.kg_user,
        "DIR": zos.kg_config_dir,
        "CONFIG_SHA256": rendered,
    }
    if zos.kg_lifecycle == "process":
        frame = _PROCESS.replace("$PID_FILE", PID_FILE).replace("$LOG_FILE", LOG_FILE)
        variables |= {"PY": zos.kg_python, "READY": READY}
    else:
        frame = _STARTED_TASK
        variables |= {"STC": zos.kg_started_task or "", "OPERCMD": zos.opercmd}
    create = (
        frame
        + f"""
IFS= read -r TOKEN || die "the gateway token was not on stdin"
cat >/dev/null  # without AT-TLS the PEM files follow: the config step wrote them
# The config step has written this run's token (its file is the gateway's, 0600).
if [ -r "$DIR/{TOKEN_FILE}" ]; then
  printf '%s\\n' "$TOKEN" | cmp -s - "$DIR/{TOKEN_FILE}" ||
    die "$DIR/{TOKEN_FILE} does not hold this run's token: did the kg-config step run?"
fi
say "config $CONFIG_SHA256: (re)starting the gateway so it loads it"
stop_gateway
start_gateway
"""
    )
    delete = frame + "\nstop_gateway\n"
    if zos.kg_lifecycle == "process":
        delete += f"{_SC2016}as_kg 'rm -f \"$JHZ_LOG\"'\n"
    purpose = "The gateway (re)started under its ID when its config or token changes."
    triggers = (zos.kg_lifecycle, zos.kg_user, zos.kg_config_dir)
    triggers += (zos.kg_python,) if zos.kg_lifecycle == "process" else (zos.kg_started_task,)

    def used(body: str) -> dict[str, str | int]:
        return {k: v for k, v in variables.items() if f"${k}" in body or f"${{{k}}}" in body}

    return make_step(
        stack,
        "kg-service",
        purpose,
        create=create,
        create_variables=used(create),
        delete=delete,
        delete_variables=used(delete),
        triggers=tuple(str(t) for t in triggers),
        stdin="token" if zos.attls else "token+tls",
    )


def service_command(
    name: str,
    step: Step,
    zos: ZosSettings,
    *,
    conn: command.remote.ConnectionArgs,
    stdin: pulumi.Input[str],
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> command.remote.Command:
    """The step as a remote.Command, like the others (commands.remote_step), but deleted
    before it is replaced: the old and the new step manage the same gateway."""
    return command.remote.Command(
        name,
        connection=conn,
        create=step.create,
        delete=step.delete,
        stdin=pulumi.Output.secret(stdin),
        logging=command.remote.Logging.STDOUT_AND_STDERR,  # prints nothing secret
        add_previous_output_in_env=False,
        triggers=[zos.host, zos.ssh_user, *step.triggers],
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(depends_on), delete_before_replace=True
        ),
    )
