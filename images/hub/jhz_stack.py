"""This stack's notebook containers and users' volumes, never another stack's.

Several stacks can share one Docker host (docs/howto/day-2.md): each names its objects
after itself (components/docker/names.py; the hub gets its names in its environment) and
labels them `jupyterhub-zos.stack=<project>/<stack>` (STACK_LABEL). DockerSpawner finds
a user's container and volume by name only: at a start it removes a container of that
name it finds (`remove`), and Docker mounts any volume of that name. So before a start
the hub checks that what carries the names is this stack's, and refuses the spawn with
the owner's name otherwise; it makes a user's volume itself, labelled, at the first start.

Objects without the label are the dev stack's own from a hub before labels
(STACK_KEEPS_UNLABELED=true there); on any other stack they are refused, as its names
are new with the label.

Beside jupyterhub_config.py in the hub image (it imports this); pure but for `guarded`.
"""

from __future__ import annotations

from tornado import web

LABEL = "jupyterhub-zos.stack"  # components/docker/names.py STACK_LABEL (a test checks)
UNLABELED = "no stack label (the dev stack's objects have none, or it was made by hand)"


def foreign_owner(labels: dict | None, owner: str, keeps_unlabeled: bool) -> str | None:
    """Whose the object with these labels is, when it is not this stack's (`owner`); None
    when it is ours. An unlabeled object is ours only where `keeps_unlabeled`."""
    found = (labels or {}).get(LABEL) or ""
    if found == owner or (not found and keeps_unlabeled):
        return None
    return f"stack {found}" if found else UNLABELED


def refusal(kind: str, name: str, other: str) -> web.HTTPError:
    """What JupyterHub shows on the spawn page (`jupyterhub_message`)."""
    message = (
        f"The Docker {kind} '{name}' this server needs belongs to {other}, not to this "
        "stack: the spawn is refused so nothing of it is touched. An administrator can "
        "remove it (`docker rm`/`docker volume rm`) if it is a leftover."
    )
    error = web.HTTPError(409, "%s", message)
    error.jupyterhub_message = message
    return error


def named_volumes(binds: dict) -> list[str]:
    """The named volumes of DockerSpawner's volume_binds (host paths start with /)."""
    return sorted(source for source in binds if not source.startswith("/"))


def guarded(spawner_class, owner: str, keeps_unlabeled: bool):
    keeps_unlabeled_ = keeps_unlabeled
    """`spawner_class`, checking before each start that its container and volumes are this
    stack's, labelling its containers and making its volumes labelled."""
    from docker.errors import NotFound

    class StackGuardedSpawner(spawner_class):
        stack_owner = owner  # this stack's STACK_LABEL value
        keeps_unlabeled = keeps_unlabeled_

        async def _labels_of(self, kind: str, name: str):
            try:
                found = await self.docker(f"inspect_{kind}", name)
            except NotFound:
                return None
            config = (found.get("Config") or {}) if kind == "container" else found
            return config.get("Labels") or {}

        async def start(self):
            labels = await self._labels_of("container", self.object_name)
            if labels is not None:
                other = foreign_owner(labels, self.stack_owner, self.keeps_unlabeled)
                if other:
                    raise refusal("container", self.object_name, other)
            for volume in named_volumes(self.volume_binds):
                labels = await self._labels_of("volume", volume)
                if labels is None:
                    labels = {LABEL: self.stack_owner}
                    await self.docker("create_volume", name=volume, labels=labels)
                    self.log.info("Created volume %s for %s", volume, self.user.name)
                    continue
                other = foreign_owner(labels, self.stack_owner, self.keeps_unlabeled)
                if other:
                    raise refusal("volume", volume, other)
            return await super().start()

    StackGuardedSpawner.__name__ = f"StackGuarded{spawner_class.__name__}"
    return StackGuardedSpawner
