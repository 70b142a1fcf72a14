"""logcount.io_map: calls served from memory stay in the caller's thread, round trips overlap.

Time comes from a fake clock the calls advance, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import os
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


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4567])
def test_read_whole_reads_every_byte_in_pieces(tmp_path, monkeypatch, size):
    monkeypatch.setattr(logcount, "READ_PIECE", 1000)
    reads = []
    original = logcount.os.pread
    monkeypatch.setattr(
        logcount.os,
        "pread",
        lambda fd, length, offset: reads.append((offset, length)) or original(fd, length, offset),
    )
    data = bytes(range(256)) * (size // 256 + 1)
    path = tmp_path / "big.json"
    path.write_bytes(data[:size])
    assert logcount.read_whole(str(path)) == data[:size]
    if size > 1000:  # the pieces, each of READ_PIECE but the last, then one read at the end
        pieces = [(offset, min(1000, size - offset)) for offset in range(0, size, 1000)]
        assert sorted(reads) == sorted([*pieces, (size, 1000)])


def test_read_whole_of_a_file_that_shrank_or_grew(tmp_path, monkeypatch):
    monkeypatch.setattr(logcount, "READ_PIECE", 1000)
    path = tmp_path / "m.json"
    path.write_bytes(b"x" * 2500)

    def fstat_then(change, size):
        """fstat as it answered with `size`, the file changed by `change` just after."""

        def fstat(descriptor):
            change()
            return os.stat_result((0,) * 6 + (size,) + (0,) * 3)

        return fstat

    monkeypatch.setattr(
        logcount.os, "fstat", fstat_then(lambda: path.write_bytes(b"x" * 1500), 2500)
    )
    with pytest.raises(ValueError, match="ends early"):
        logcount.read_whole(str(path))

    def grow():
        with open(path, "ab") as handle:
            handle.write(b"y" * 700)

    monkeypatch.setattr(logcount.os, "fstat", fstat_then(grow, 1500))
    assert logcount.read_whole(str(path)) == b"x" * 1500 + b"y" * 700
