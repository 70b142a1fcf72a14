"""The scheduler's work per event does not grow with the fan-out's width.

A run's fan-out nodes are kept in a list that counts how often it is walked: the scheduler may
walk it a fixed number of times per run (to decide a dependant, the phase, the result), never
once per pod event, which made a run of N tasks cost O(N²).
"""

from __future__ import annotations

import threading

import pytest

from tests.runlocal.templates import container, run, task, workflow
from workflows.runlocal import engine


class CountingList(list):
    walks = 0

    def __iter__(self):
        CountingList.walks += 1
        return super().__iter__()


def fan_out(width: int) -> dict:
    return workflow(
        [
            task("map", "noop", withSequence={"count": str(width)}),
            task("after", "noop", depends="map"),
        ],
        [container("noop", "pass")],
    )


@pytest.fixture
def counted(monkeypatch):
    expand = engine.WorkflowRun._expand

    def expand_counted(self, task_state):
        expand(self, task_state)
        task_state.nodes = CountingList(task_state.nodes)

    monkeypatch.setattr(engine.WorkflowRun, "_expand", expand_counted)
    CountingList.walks = 0
    return CountingList


def test_the_nodes_of_a_fan_out_are_walked_as_often_for_4_items_as_for_24(tmp_path, counted):
    walks = {}
    for width in (4, 24):
        counted.walks = 0
        result, _ = run(fan_out(width), tmp_path / str(width))
        assert result.phase.value == "Succeeded"
        walks[width] = counted.walks
    assert walks[4] == walks[24], walks


def test_a_run_leaves_no_waiter_thread_behind(tmp_path):
    result, _ = run(fan_out(6), tmp_path, jobs=3)
    assert result.phase.value == "Succeeded"
    waiters = [t for t in threading.enumerate() if t.name == engine.REAPER_THREAD]
    assert len(waiters) <= 3  # at most one per process running at once, reused
    for thread in waiters:
        thread.join(timeout=30)
        assert not thread.is_alive()
