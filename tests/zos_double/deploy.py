"""Drive the z/OS steps over SSH the way the Pulumi component wires them: the same
rendered scripts (components.zos.steps), the same stdin, the PEM split of each export
run locally, the gateway's steps in the seed's order, each user's step needing only the
CA; deletes in the reverse order (dependents first, as Pulumi destroys).

Each step runs as an instance, as its `remote.Command` does: the instance ID stands in
for the command's RandomId, whose keepers are the command's triggers, so it is new
exactly when Pulumi would replace the command. `replace` does what `pulumi up` does
after a config change: the new config's steps (created, or updated in place where their
instance stays), then the deletes of the old instances that were replaced or dropped."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, field

from components.settings import Settings
from components.zos.export import parse_split_output, render_split_script
from components.zos.preflight import zos_steps
from components.zos.steps import gateway_steps, pems_for_gateway, step_stdin, user_steps
from tests.zos_double.host import Session, ZosHost


@dataclass
class Run:
    failed: str | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    pems: dict[str, dict[str, str]] = field(default_factory=dict)  # hub user -> split files
    gateway_pems: dict[str, str] | None = None
    # the double's invocation numbers each step used (first, last)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None


def split(stdout: str, password: str) -> dict[str, str]:
    """The local half of an export: the split script with the password and the p12."""
    result = subprocess.run(
        ["/bin/sh", "-c", render_split_script()],
        input=password + "\n" + stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise AssertionError(f"the PEM split failed:\n{result.stderr}")
    return parse_split_output(result.stdout)


def instance_of(step, settings: Settings) -> str:
    """The step's instance ID: new whenever one of the command's triggers changes."""
    keepers = [settings.zos.host, settings.zos.ssh_user, *step.triggers]
    return hashlib.sha256("\0".join(keepers).encode()).hexdigest()[:16]


def scripts(step, settings: Settings) -> tuple[str, str]:
    """The create and delete scripts of the step's instance."""
    return step.scripts(instance_of(step, settings))


def ordered_steps(settings: Settings, stack: str, *, whole: bool = False):
    """(name, step) in the order the component's dependencies allow: the CA, then each
    user's step (they need only the CA), then the rest of the gateway's chain. Without
    AT-TLS there are no user steps: the hub issues users' certificates
    (components/zos/stack.py). `whole`: as the graph has it, the preflight first and the
    gateway's (re)start last."""
    gateway = gateway_steps(settings.zos, stack, settings.gateway.url)
    users = list(user_steps(settings.zos, stack).items()) if settings.zos.attls else []
    steps = [gateway[0], *[step for _user, step in users], *gateway[1:]]
    if whole:
        every = zos_steps(settings.zos, stack, settings.gateway.url)
        steps = [every.preflight, *steps, *([every.service] if every.service else [])]
    return steps, dict((step.name, user) for user, step in users)


def deploy(
    host: ZosHost,
    settings: Settings,
    *,
    stack: str,
    password: str,
    token: str,
    start: str | None = None,
    before_step=None,
    whole: bool = False,
    client_ca_pem: str | None = None,
    gateway_pems: dict[str, str] | None = None,
) -> Run:
    """Run the create scripts in order; from `start` on only, like a Pulumi `up` after
    one that failed at that step (what succeeded before is not run again). Without
    AT-TLS, `client_ca_pem` is what the gateway's kg_client_ca.pem gets, as the
    component gives it the hub's client CA (else the RACF CA from the server's export).
    `gateway_pems`: in admin mode without AT-TLS, the split of the administrator's export of
    the gateway's certificate (ZOS_KG_SERVER_TLS), which the config step gets."""
    run = Run()
    steps, users = ordered_steps(settings, stack, whole=whole)
    if start is not None:
        steps = steps[[s.name for s in steps].index(start) :]
    tls_pems = None if gateway_pems is None else pems_for_gateway(gateway_pems)
    for step in steps:
        if before_step is not None:
            before_step(step.name)
        first = host.state["counter"] + 1
        stdin = step_stdin(step, password=password, token=token, tls_pems=tls_pems) or ""
        session = host.run(scripts(step, settings)[0], stdin)
        run.sessions[step.name] = session
        run.ranges[step.name] = (first, host.state["counter"])
        run.order.append(step.name)
        if session.rc != 0:
            run.failed = step.name
            return run
        if step.name in users:
            run.pems[users[step.name]] = split(session.stdout, password)
        if step.name == "server-export":
            run.gateway_pems = split(session.stdout, password)
            files = dict(run.gateway_pems)
            if client_ca_pem is not None:
                files["ca.pem"] = client_ca_pem
            tls_pems = pems_for_gateway(files)
    return run


def destroy(
    host: ZosHost, settings: Settings, *, stack: str, only=None, whole: bool = False
) -> dict[str, Session]:
    """Every step's delete, dependents first; `only`: just the steps named there."""
    steps, _users = ordered_steps(settings, stack, whole=whole)
    sessions = {}
    for step in reversed(steps):
        if only is not None and step.name not in only:
            continue
        session = host.run(scripts(step, settings)[1])
        sessions[step.name] = session
        if session.rc != 0:
            raise AssertionError(f"delete of {step.name} failed:\n{session.stderr}")
    return sessions


def replaced(old: Settings, new: Settings, stack: str) -> set[str]:
    """The old config's steps that a `pulumi up` to the new config deletes: those the new
    graph has no more, and those whose instance (triggers) changed."""
    new_steps = {step.name: step for step in ordered_steps(new, stack)[0]}
    return {
        step.name
        for step in ordered_steps(old, stack)[0]
        if step.name not in new_steps
        or instance_of(new_steps[step.name], new) != instance_of(step, old)
    }


def replace(
    host: ZosHost, old: Settings, new: Settings, *, stack: str, password: str, token: str
) -> tuple[Run, set[str]]:
    """`pulumi up` from the old config to the new one, create before delete: the new
    config's steps run (a replaced step as its new instance), then the replaced old
    instances are deleted. The old instances deleted are returned with the run."""
    run = deploy(host, new, stack=stack, password=password, token=token)
    if not run.ok:
        return run, set()
    gone = replaced(old, new, stack)
    destroy(host, old, stack=stack, only=gone)
    return run, gone
