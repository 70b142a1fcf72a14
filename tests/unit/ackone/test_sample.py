"""The OSS sample input: generated once by the job's generator, keyed like the chart's input."""

from __future__ import annotations

import json

import pytest

from infra.ackone import sample
from infra.ackone.sample import input_key, sample_input
from infra.config import REPO_ROOT, load


def test_generates_the_exact_size_with_its_counts_then_reuses_it(tmp_path):
    first = sample_input(tmp_path, 10_000, "log-count-data.txt", dry_run=False)
    log = tmp_path / "sample-input-10000-seed1.log"
    modified = log.stat().st_mtime_ns

    second = sample_input(tmp_path, 10_000, "log-count-data.txt", dry_run=False)

    assert first == second
    assert (REPO_ROOT / first.source).resolve() == log.resolve()
    assert log.stat().st_size == 10_000
    assert log.stat().st_mtime_ns == modified  # reused, not generated again
    counts = json.loads(first.expected_counts)
    assert counts["bytes"] == 10_000
    assert counts["counts"]["substring"]["INFO"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sample-input-10000-seed1.expected.json",
        "sample-input-10000-seed1.log",
    ]


def test_a_failed_generation_leaves_nothing_and_names_the_key(tmp_path, monkeypatch):
    broken = tmp_path / "generate.py"
    broken.write_text("import sys\nsys.stderr.write('disk full\\n')\nsys.exit(2)\n")
    monkeypatch.setattr(sample, "GENERATE", broken)
    data_dir = tmp_path / "data"

    with pytest.raises(RuntimeError, match=r"storage.oss.sampleInputSize: .*exit 2.*disk full"):
        sample_input(data_dir, 1_000, "log-count-data.txt", dry_run=False)
    assert list(data_dir.iterdir()) == []


def test_input_key_follows_the_chart_default_and_workload_values():
    assert input_key(load({}, "a").default_job) == "log-count-data.txt"
    old = load({"workload": {"values": {"job": {"input": "logs/app.log"}}}}, "a")
    assert input_key(old.default_job) == "logs/app.log"
    new = load({"jobs": {"log-count": {"values": {"job": {"input": "logs/b.log"}}}}}, "a")
    assert input_key(new.default_job) == "logs/b.log"
