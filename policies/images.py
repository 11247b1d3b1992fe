"""Images: every image is pinned, so a deploy runs exactly what was tested.

Built images' bases (their Dockerfile's FROM lines, read from the project), remote
images, the images containers run, and the notebook images the hub spawns
(DOCKER_NOTEBOOK_IMAGE, and the choice of DOCKER_NOTEBOOK_IMAGES).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from .props import CONTAINER, IMAGE, REMOTE_IMAGE, config, env_map, get, items, text
from .rule import MANDATORY, Rule

DEFAULT_PROJECT_DIR = Path(__file__).resolve().parent.parent

IMAGE_ID_RE = re.compile(r"(sha256:)?[a-f0-9]{64}")
DIGEST_RE = re.compile(r"@sha256:[a-f0-9]{64}$")


def unpinned_reason(ref: str) -> str | None:
    """Why an image reference is not pinned, or None if it is (a tag other than latest,
    a digest, or an image ID)."""
    ref = ref.strip()
    if not ref:
        return "it is empty"
    if IMAGE_ID_RE.fullmatch(ref) or DIGEST_RE.search(ref):
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "it has no tag (Docker uses 'latest')"
    if last.rsplit(":", 1)[1] == "latest":
        return "its tag is 'latest'"
    return None


_ARG_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}?")


def dockerfile_bases(text_: str, build_args: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """(line, reference as written, reference resolved) of each FROM that names an
    image: `FROM scratch` and FROMs of earlier build stages are left out."""
    lines = re.sub(r"\\\n", " ", text_).splitlines()
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        keyword = words[0].upper()
        if keyword == "ARG" and len(words) > 1:
            for item in words[1:]:
                name, eq, default = item.partition("=")
                if name in build_args:
                    args[name] = build_args[name]
                elif eq:
                    args[name] = default.strip("\"'")
        elif keyword == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            if not rest:
                continue
            written = rest[0]
            resolved = _ARG_RE.sub(lambda m: args.get(m[1], m[0]), written)
            if resolved.lower() not in stages | {"scratch"}:
                bases.append((number, written, resolved))
            if len(rest) >= 3 and rest[1].upper() == "AS":
                stages.add(rest[2].lower())
    return bases


IMAGES_DEFAULTS = {
    "projectDir": "",
    "notebookImageEnv": ["DOCKER_NOTEBOOK_IMAGE"],
    "notebookChoicesEnv": ["DOCKER_NOTEBOOK_IMAGES"],
}
IMAGES_DESCRIPTIONS = {
    "projectDir": "Directory relative build contexts are resolved against (default: the "
    "directory above the policy pack, i.e. the project).",
    "notebookImageEnv": "Container environment variables that name an image to run.",
    "notebookChoicesEnv": "Container environment variables holding a JSON object whose "
    "values are images to run (the spawn page's choice).",
}


def _resolve(base: Path, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def validate_images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    cfg = config(args, IMAGES_DEFAULTS)
    props = args.props
    if args.resource_type == REMOTE_IMAGE:
        ref = text(get(props, "name"))
        if ref is not None and (why := unpinned_reason(ref)):
            report(
                f"remote image {args.name!r} pulls {ref!r}, but {why}: every deploy could "
                "get a different image. Pin it with a version tag or @sha256: digest."
            )
    elif args.resource_type == CONTAINER:
        image = text(get(props, "image"))
        if image is not None and (why := unpinned_reason(image)):
            report(
                f"container {args.name!r} runs image {image!r}, but {why}. Use the built "
                "image's repo digest or a pinned tag."
            )
        envs = env_map(props)
        for name in cfg["notebookImageEnv"]:
            ref = envs.get(name)
            if ref is not None and (why := unpinned_reason(ref)):
                report(
                    f"container {args.name!r} sets {name}={ref!r}, but {why}: notebook "
                    "servers would start whatever that tag is today. Pin it (a version tag "
                    "or @sha256: digest) in DOCKER_NOTEBOOK_IMAGE."
                )
        for name in cfg["notebookChoicesEnv"]:
            raw = envs.get(name)
            if raw is None:
                continue
            try:
                choices = json.loads(raw)
            except ValueError:
                choices = None
            if not isinstance(choices, dict):
                report(f"container {args.name!r} sets {name}, but not to a JSON object of images.")
                continue
            for shown, ref in choices.items():
                why = unpinned_reason(ref) if isinstance(ref, str) else "it is not a string"
                if why:
                    report(
                        f"container {args.name!r} offers {shown!r} in {name} as {ref!r}, but "
                        f"{why}: pin it (a version tag or @sha256: digest) in "
                        "DOCKER_NOTEBOOK_IMAGES."
                    )
    elif args.resource_type == IMAGE:
        _check_built_image(args, cfg, report)


def _check_built_image(args, cfg, report: ReportViolation) -> None:
    context = text(get(args.props, "build", "context"))
    if context is None:
        return  # no local build context (or not known yet): nothing to read
    project = Path(cfg["projectDir"]) if cfg["projectDir"] else DEFAULT_PROJECT_DIR
    context_dir = _resolve(project, context)
    dockerfile = text(get(args.props, "build", "dockerfile"))
    if dockerfile is None:
        path = context_dir / "Dockerfile"
    else:
        path = _resolve(project, dockerfile)
        if not path.exists() and not Path(dockerfile).is_absolute():
            path = context_dir / dockerfile
    try:
        content = path.read_text()
    except OSError as exc:
        report(
            f"image {args.name!r}: cannot read its Dockerfile {path} ({exc.strerror}), so its "
            "base images cannot be checked. Fix build.context/build.dockerfile."
        )
        return
    build_args = {k: v for k, v in items(get(args.props, "build", "args")) if text(v)}
    for line, written, resolved in dockerfile_bases(content, build_args):
        if "$" in resolved:
            report(
                f"image {args.name!r}: {path.name}:{line} `FROM {written}` uses a build "
                "argument with no value, so the base is not pinned. Give the ARG a pinned "
                "default."
            )
        elif why := unpinned_reason(resolved):
            report(
                f"image {args.name!r}: {path.name}:{line} `FROM {resolved}` is not pinned: "
                f"{why}. Pin the base image by version tag or digest."
            )


IMAGES_PINNED = Rule(
    name="images-pinned",
    description="Images are pinned (a version tag or digest, never 'latest' or untagged): "
    "built images' bases, remote images and the notebook image.",
    level=MANDATORY,
    validate=validate_images_pinned,
    defaults=IMAGES_DEFAULTS,
    descriptions=IMAGES_DESCRIPTIONS,
    severity=Severity.MEDIUM,
    remediation="Pin FROM lines, RemoteImage names, DOCKER_NOTEBOOK_IMAGE and "
    "DOCKER_NOTEBOOK_IMAGES by tag or digest.",
)

RULES = [IMAGES_PINNED]
