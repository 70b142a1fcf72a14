"""The repository root: the project directory, where Pulumi.yaml and the charts live."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
