"""An nbconvert template of alice's whose conf.json names code of hers to run: put before
the scripts that plant it (the tests join them), run as her (uid 1000). nbconvert makes
the preprocessors a template's conf.json names when it makes an exporter, so whoever
makes one from a directory holding `lab/conf.json` runs her payload."""

import json
from pathlib import Path


def her_template(payload: Path, marker: Path) -> str:
    """The conf.json text; `payload` is written to create `marker` (with the pid of the
    process it ran in) when run."""
    payload.write_text(f"open({str(marker)!r}, 'w').write(str(__import__('os').getpid()))\n")
    return json.dumps(
        {
            "base_template": "base",
            "mimetypes": {"text/html": True},
            "preprocessors": {"x": {"type": "runpy.run_path", "path_name": str(payload)}},
        }
    )
