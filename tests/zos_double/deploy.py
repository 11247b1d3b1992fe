"""Drive the z/OS steps over SSH the way the Pulumi component wires them: the same
rendered scripts (components.zos.steps), the same stdin, the PEM split of each export
run locally, the gateway's steps in the seed's order, each user's step needing only the
CA; deletes in the reverse order (dependents first, as Pulumi destroys)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from components.settings import Settings
from components.zos.export import parse_split_output, render_split_script
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


def ordered_steps(settings: Settings, stack: str):
    """(name, step) in the order the component's dependencies allow: the CA, then each
    user's step (they need only the CA), then the rest of the gateway's chain. Without
    AT-TLS there are no user steps: the hub issues users' certificates
    (components/zos/stack.py)."""
    gateway = gateway_steps(settings.zos, stack, settings.gateway.url)
    users = list(user_steps(settings.zos, stack).items()) if settings.zos.attls else []
    return [gateway[0], *[step for _user, step in users], *gateway[1:]], dict(
        (step.name, user) for user, step in users
    )


def deploy(
    host: ZosHost,
    settings: Settings,
    *,
    stack: str,
    password: str,
    token: str,
    start: str | None = None,
    before_step=None,
    client_ca_pem: str | None = None,
) -> Run:
    """Run the create scripts in order; from `start` on only, like a Pulumi `up` after
    one that failed at that step (what succeeded before is not run again). Without
    AT-TLS, `client_ca_pem` is what the gateway's kg_client_ca.pem gets, as the
    component gives it the hub's client CA (else the RACF CA from the server's export)."""
    run = Run()
    steps, users = ordered_steps(settings, stack)
    if start is not None:
        steps = steps[[s.name for s in steps].index(start) :]
    tls_pems = None
    for step in steps:
        if before_step is not None:
            before_step(step.name)
        first = host.state["counter"] + 1
        stdin = step_stdin(step, password=password, token=token, tls_pems=tls_pems) or ""
        session = host.run(step.create, stdin)
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


def destroy(host: ZosHost, settings: Settings, *, stack: str) -> dict[str, Session]:
    steps, _users = ordered_steps(settings, stack)
    sessions = {}
    for step in reversed(steps):
        session = host.run(step.delete)
        sessions[step.name] = session
        if session.rc != 0:
            raise AssertionError(f"delete of {step.name} failed:\n{session.stderr}")
    return sessions
