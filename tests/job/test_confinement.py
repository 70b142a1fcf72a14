"""split reads nothing outside --root: `..`, absolute paths and escaping links are refused."""

from __future__ import annotations

import json
import os

import pytest

from tests.job.jobcode import run_ok, run_step


@pytest.fixture
def volume(tmp_path):
    """A volume root with an input inside it, and a secret file outside it."""
    root = tmp_path / "volume"
    (root / "inputs" / "logs").mkdir(parents=True)
    (root / "inputs" / "logs" / "a.log").write_bytes(b"INFO a\n")
    (tmp_path / "secret").write_bytes(b"INFO s3cr3t\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key").write_bytes(b"INFO key\n")
    return root


def split(root, input_path, *extra):
    return run_step(
        "split",
        f"--input={input_path}",
        f"--root={root}",
        f"--workdir={root / 'runs' / 'wf'}",
        "--parts=1",
        *extra,
    )


def refused(done, *needles):
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "outside the volume root" in done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_dot_dot_out_of_the_root_is_refused(volume):
    refused(split(volume, f"{volume}/inputs/../../secret"), "input (--input)")


def test_absolute_path_outside_the_root_is_refused(volume):
    refused(split(volume, volume.parent / "secret"))


def test_link_to_a_file_outside_is_refused(volume):
    (volume / "inputs" / "leak.log").symlink_to(volume.parent / "secret")
    refused(split(volume, volume / "inputs" / "leak.log"), str(volume.parent / "secret"))


def test_link_to_a_directory_outside_is_refused(volume):
    (volume / "inputs" / "leak").symlink_to(volume.parent / "secrets")
    refused(split(volume, volume / "inputs" / "leak"))


def test_link_inside_an_input_directory_leading_out_is_refused(volume):
    (volume / "inputs" / "logs" / "b.log").symlink_to(volume.parent / "secret")
    refused(split(volume, volume / "inputs" / "logs"), "b.log")
    (volume / "inputs" / "logs" / "b.log").unlink()
    (volume / "inputs" / "logs" / "sub").symlink_to(volume.parent / "secrets")
    refused(split(volume, volume / "inputs" / "logs"), "sub")


def test_links_that_stay_inside_are_followed(volume):
    (volume / "inputs" / "same.log").symlink_to(volume / "inputs" / "logs" / "a.log")
    (volume / "inputs" / "alias").symlink_to(volume / "inputs" / "logs")
    for target in ("same.log", "alias"):
        assert split(volume, volume / "inputs" / target).returncode == 0
        manifest = json.loads((volume / "runs" / "wf" / "manifest.json").read_text())
        # The real path is recorded, so count never follows the link again.
        assert [item["path"] for item in manifest["inputs"]] == [
            str(volume / "inputs" / "logs" / "a.log")
        ]


def test_a_link_swapped_in_after_split_fails_the_count(volume):
    workdir = volume / "runs" / "wf"
    ids = run_ok(
        "split",
        f"--input={volume / 'inputs' / 'logs'}",
        f"--root={volume}",
        f"--workdir={workdir}",
        "--parts=1",
    )
    logs = volume / "inputs" / "logs"
    os.rename(logs, volume / "inputs" / "moved")
    logs.symlink_to(volume / "inputs" / "moved")
    done = run_step("count", f"--workdir={workdir}", f"--part={ids[0]}")
    assert done.returncode == 2 and "symbolic link" in done.stderr, done.stderr


def test_default_root_is_the_whole_file_system(volume):
    done = run_step(
        "split",
        f"--input={volume.parent / 'secret'}",
        f"--workdir={volume / 'runs' / 'x'}",
        "--parts=1",
    )
    assert done.returncode == 0, done.stderr
