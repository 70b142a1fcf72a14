"""logcount.io_map: calls served from memory stay in the caller's thread, round trips overlap.

Time comes from a fake clock the calls advance, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import threading

import pytest

from tests.job.jobcode import logcount


class Clock:
    """A clock that only moves when a call says it took `seconds`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def calls_taking(clock: Clock, seconds_of):
    """A function that records the thread it ran in and advances the clock by seconds_of(item)."""
    threads: dict[int, int] = {}

    def function(item: int) -> int:
        threads[item] = threading.get_ident()
        clock.spend(seconds_of(item))
        return item * item

    return function, threads


@pytest.mark.parametrize("size", [0, 1, 2, 7, 8, 9, 300, 3000])
@pytest.mark.parametrize("probe", [True, False])
@pytest.mark.parametrize("seconds", [1e-6, 5e-3])
def test_results_in_order_whatever_the_path(size, probe, seconds):
    clock = Clock()
    function, threads = calls_taking(clock, lambda _: seconds)
    items = list(range(size))
    assert logcount.io_map(function, items, probe=probe, clock=clock) == [i * i for i in items]
    assert sorted(threads) == items  # every item called exactly once


def test_calls_served_from_memory_stay_in_the_callers_thread():
    clock = Clock()
    function, threads = calls_taking(clock, lambda _: 5e-6)  # a cached lstat
    logcount.io_map(function, range(5000), clock=clock)
    assert set(threads.values()) == {threading.get_ident()}


def test_round_trips_go_to_the_pool_after_one_group():
    clock = Clock()
    function, threads = calls_taking(clock, lambda _: 5e-3)  # a network round trip
    logcount.io_map(function, range(2000), clock=clock)
    here = threading.get_ident()
    in_caller = [item for item, thread in threads.items() if thread == here]
    assert in_caller == list(range(logcount.IO_PROBE))
    pool_threads = {thread for thread in threads.values() if thread != here}
    assert 1 < len(pool_threads) <= logcount.IO_THREADS


def test_a_pause_in_one_call_does_not_hand_cached_calls_to_the_pool():
    # A garbage-collector pause makes one call of a group slow; the group's median stays fast.
    clock = Clock()
    function, threads = calls_taking(clock, lambda item: 6e-3 if item % 500 == 3 else 5e-6)
    logcount.io_map(function, range(5000), clock=clock)
    assert set(threads.values()) == {threading.get_ident()}


def test_calls_that_turn_slow_later_go_to_the_pool_then():
    # Cached at first, then the cache has expired: the group that finds it out is the last
    # made in turn.
    clock = Clock()
    function, threads = calls_taking(clock, lambda item: 5e-6 if item < 100 else 5e-3)
    logcount.io_map(function, range(1000), clock=clock)
    here = threading.get_ident()
    in_caller = [item for item, thread in threads.items() if thread == here]
    assert in_caller == list(range(100 + logcount.IO_PROBE - 100 % logcount.IO_PROBE))


def test_without_probe_every_call_goes_to_the_pool():
    clock = Clock()
    function, threads = calls_taking(clock, lambda _: 5e-6)
    logcount.io_map(function, range(100), probe=False, clock=clock)
    assert threading.get_ident() not in set(threads.values())


@pytest.mark.parametrize("seconds", [1e-6, 5e-3])
def test_the_first_exception_is_raised(seconds):
    clock = Clock()

    def function(item: int) -> int:
        clock.spend(seconds)
        if item in (40, 700):
            raise OSError(f"item {item}")
        return item

    with pytest.raises(OSError, match="item 40"):
        logcount.io_map(function, range(1000), clock=clock)
