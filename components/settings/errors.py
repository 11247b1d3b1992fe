"""The one error a bad stack gets: every problem, each naming its key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Problem:
    key: str
    message: str


class SettingsError(pulumi.RunError):
    """Every problem with the stack's config, in one message; raised before any resource."""

    def __init__(self, stack: str, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.key, p.message))
        keys = sorted({p.key for p in self.problems})
        lines = [
            f"stack '{stack}': {len(keys)} config key(s) are invalid; nothing was deployed.",
            *(f"  - {p.key}: {p.message}" for p in self.problems),
            "Fix with `pulumi config set KEY value`; arrays item by item with "
            "`--path 'KEY[0]' value`, maps with `--path 'KEY.name' value`, secrets with "
            "`--secret KEY` and the value on stdin. Then run again. The keys are described in "
            "Pulumi.yaml and docs/reference/config.md.",
        ]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> set[str]:
        return {p.key for p in self.problems}
