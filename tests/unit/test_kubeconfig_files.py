"""Every kubeconfig the docs or scripts tell you to write is private and kept out of git."""

from __future__ import annotations

import re
import subprocess

import pytest

from infra.config import REPO_ROOT

SOURCES = ("README.md", "docs/ack-one.md", "docs/architecture.md", "scripts/dev.sh")
# A shell redirection into a file named *.kubeconfig.
WRITE = re.compile(r">\s*(\S+\.kubeconfig)\b")


def _writes() -> list[tuple[str, str]]:
    found = []
    for source in SOURCES:
        # Joined lines: a command may wrap in Markdown.
        text = (REPO_ROOT / source).read_text().replace("\n", " ")
        for match in WRITE.finditer(text):
            found.append((source, text[max(0, match.start() - 200) : match.end()]))
    return found


def test_the_docs_write_kubeconfigs():
    assert {source for source, _ in _writes()} >= {"docs/ack-one.md", "scripts/dev.sh"}


@pytest.mark.parametrize(("source", "command"), _writes())
def test_a_written_kubeconfig_is_readable_by_its_owner_only(source, command):
    assert "umask 077" in command.rsplit("(", 1)[-1], f"{source}: {command}"


@pytest.mark.parametrize("path", [".data/dev.kubeconfig", "ack.kubeconfig", "x/y.kubeconfig"])
def test_kubeconfigs_are_ignored_by_git(path):
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPO_ROOT, check=False
    )
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"
