"""The Argo Workflows lines the project targets, read from argo-lines.json beside this module.

That file is the one place they are written: CI (.ci/run, .github/workflows/ci.yml, through
``python3 -m common.argolines``), the chart and schema tests (tests/support/schemas.py), the
chart's ``argo-fanout.io/argo-versions`` annotation (a test compares them) and the program's
default argo-helm chart (infra/config.py) all read it. Standard library only: CI runs it with
any python3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LINES_FILE = Path(__file__).resolve().parent / "argo-lines.json"

_LINES = json.loads(LINES_FILE.read_text(encoding="utf-8"))
# Every chart must render valid for each of these (their CRDs, CEL rules included).
VALIDATED: tuple[str, ...] = tuple(_LINES["validated"])
# argo-helm's argo-workflows chart version installed by default, and the Argo it ships.
CHART_VERSION: str = _LINES["chart"]["version"]
CHART_ARGO: str = _LINES["chart"]["argo"]
# The Argo the local real cluster builds (the Go module proxy's newest v4): the one exception.
LOCAL_CLUSTER: str = _LINES["localCluster"]


def main(argv: list[str]) -> int:
    """Print the validated lines, space-separated (for shell loops in CI)."""
    if argv:
        print("usage: python3 -m common.argolines", file=sys.stderr)
        return 2
    print(" ".join(VALIDATED))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
