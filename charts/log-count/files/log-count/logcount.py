"""Shared code of the log-count steps (split.py, count.py, merge.py, generate.py).

Standard library only. The steps run as scripts (``python /opt/log-count/split.py``), so Python
puts this directory first on ``sys.path`` and they import this module by name; nothing here
writes next to the scripts (the directory is read-only in the container).

Counting semantics, shared by every step:

* keywords are matched as UTF-8 bytes, so any input bytes (non-UTF-8, CRLF) are fine;
* ``substring`` counts non-overlapping occurrences of each keyword on its own, scanning left to
  right (``str.count`` / ``re.findall`` semantics);
* ``word`` counts, with the same scan, only occurrences with no ``[A-Za-z0-9_]`` byte immediately
  before or after them;
* a line is a run of bytes ending in ``\\n``, or a non-empty run at the end of a file.

Keywords may not contain ``\\n``, so a match never spans a line end, and the left-to-right scan
starts afresh at every line start. That is what lets shards (cut at line starts) and chunks
(cut after the last ``\\n`` they hold) be counted independently with fast whole-buffer calls;
only the tail of a line longer than a chunk needs the position-tracking scan.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import operator
import os
import re
import secrets
import stat
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

DEFAULT_KEYWORDS = ("INFO", "WARN", "ERROR", "DEBUG")
MATCH_MODES = ("substring", "word")
DEFAULT_MATCH = "substring"
DEFAULT_MAX_PARTS = 10_000
# Argo keeps only the last 256 KiB of a step's stdout as outputs.result, so a longer shard id
# list reaches withParam as broken JSON. split keeps its list within this bound (a quarter of
# margin) by refusing a --max-parts above LARGEST_MAX_PARTS (the chart's schema repeats it).
ID_LIST_BOUND = 192 * 1024
MANIFEST_NAME = "manifest.json"
# The per-shard plans, one record per shard behind a fixed-width index (see write_shard_index):
# a count reads its own record with a few small reads, never the whole manifest.
SHARD_INDEX_NAME = "shards.idx"
COUNTS_DIR = "counts"
# Count files are spread over this many subdirectories of COUNTS_DIR (counts/NN/ID.json, NN two
# hex digits of a CRC-32 of the id; see counts_path, the layout's one home). Over ossfs or a NAS
# the lookups of names in one directory are served one at a time (measured: bench/latencyfs.py),
# so 10,000 count files in one directory cost 10,000 serial round trips in merge; spread over
# 256 they overlap (about 40 per directory at 10,000 shards).
COUNTS_FAN = 256
FORMAT_VERSION = 3
# Metadata calls (stat, open, listing) and small reads on the volume run in a pool this wide: on
# OSS (ossfs) or NAS each one is a network round trip of several ms, so split, merge and the cut
# point reads overlap up to this many of them. Bounded, so a pod never opens more than this many
# files at once.
IO_THREADS = 64
# io_map hands the pool at most this many tasks (runs of neighbouring items): four per thread,
# so a thread that meets slower calls leaves the rest of the work to the others.
IO_CHUNKS = 4 * IO_THREADS
# io_map first makes the calls itself, this many at a time, while their median is under
# IO_FAST_CALL seconds: then they are served from memory (a cached lstat takes ~5 us),
# where no network round trip (NFS within a zone: ~100 us and up) is that quick.
IO_PROBE = 8
IO_FAST_CALL = 50e-6
# Big files (the manifest) are read in pieces of this size at once (read_whole).
READ_PIECE = 1 << 20
# The field of a count file that holds the digest of the rest of it.
DIGEST_FIELD = "digest"
# Tests shrink the count chunk through this variable to force matches and lines across chunks.
CHUNK_SIZE_ENV = "LOGCOUNT_CHUNK_SIZE"
DEFAULT_CHUNK_SIZE = 1 << 20

EXIT_VERIFICATION = 1
EXIT_USAGE = 2
# Kubernetes makes a terminated container's message from this file, which the kubelet creates
# (Argo's own executor writes there too); the job's error goes there as well as to stderr, so
# it is the step's node message alone, without the executor's log lines after it. Only an
# existing file is written; tests point the variable at one of theirs.
TERMINATION_LOG_ENV = "LOGCOUNT_TERMINATION_LOG"
DEFAULT_TERMINATION_LOG = "/dev/termination-log"

# Bytes that make a neighbouring keyword occurrence part of a longer word in "word" mode.
WORD_BYTES = b"A-Za-z0-9_"

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
SIZE_SUFFIXES = "B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"
_SIZE_RE = re.compile(r"(\d+)\s*([A-Za-z]*)")


class UsageError(Exception):
    """Bad flags or bad input: the step exits 2 with this one-line message on stderr."""


class VerificationError(Exception):
    """The parts do not add up (merge): the step exits with this message on stderr.

    Exit 1 when `retryable` (a count file could not be read: an I/O error may pass on a
    retry), else 2 like a usage error: missing, corrupt, stale or mismatched parts and a broken
    manifest stay so however often merge runs, and the chart's retryStrategy does not retry 2.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2 via :class:`UsageError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        for name, value in vars(parsed).items():
            # Every option takes one string; argparse turns the value of `--flag=--` into [].
            if isinstance(value, list):
                raise UsageError(f"--{name.replace('_', '-')}: '--' cannot be given as a value")
        return parsed


def run(main: Callable[[Sequence[str]], object], argv: Sequence[str] | None = None) -> int:
    """Run a step's ``main`` and turn the job's errors into exit codes (no tracebacks)."""
    prog = os.path.basename(sys.argv[0]) or "log-count"
    try:
        main(sys.argv[1:] if argv is None else argv)
    except UsageError as error:
        _report(f"{prog}: error: {error}")
        return EXIT_USAGE
    except VerificationError as error:
        _report(f"{prog}: {error}")
        return EXIT_VERIFICATION if error.retryable else EXIT_USAGE
    return 0


def _report(message: str) -> None:
    print(message, file=sys.stderr)
    path = os.environ.get(TERMINATION_LOG_ENV) or DEFAULT_TERMINATION_LOG
    if os.path.isfile(path):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(message)
        except OSError:
            pass  # the message is on stderr, which FallbackToLogsOnError uses then


def log(message: str) -> None:
    """Progress notes go to stderr: stdout carries each step's JSON only."""
    print(message, file=sys.stderr)


def print_json(value: object) -> None:
    print(json.dumps(value, separators=(",", ":")))


# --- flag values -------------------------------------------------------------------------------

# The WorkflowTemplate parameter behind each split flag: charts/log-count passes
# `--parts={{workflow.parameters.numParts}}` and so on (a chart test checks the pairs), so an error
# names what the user typed as well as the flag. The run commands check values with
# check_parameter before they submit anything.
PARAMETER_FLAGS = {
    "numParts": "--parts",
    "partSize": "--part-size",
    "input": "--input",
    "keywords": "--keywords",
    "match": "--match",
    "minSuccessRatio": "--min-success-ratio",
}
# The same for merge's flags (the chart passes `--min-success-ratio={{...minSuccessRatio}}`).
MERGE_PARAMETER_FLAGS = {
    "minSuccessRatio": "--min-success-ratio",
}
DEFAULT_MIN_SUCCESS_RATIO = 1.0
# minSuccessRatio (merge's --min-success-ratio): a decimal above 0 and at most 1, e.g. 0.9, or 1.
_RATIO_RE = re.compile(r"0?\.[0-9]*[1-9][0-9]*|1(?:\.0+)?")


def label(flag: str) -> str:
    """How an error names a flag: `numParts (--parts)`, or the flag alone if no parameter."""
    for parameter, known in {**PARAMETER_FLAGS, **MERGE_PARAMETER_FLAGS}.items():
        if known == flag:
            return f"{parameter} ({flag})"
    return flag


def parse_match(text: str, flag: str = "--match") -> str:
    if text not in MATCH_MODES:
        raise UsageError(
            f"{flag}: {text!r} is not a match mode; use one of {', '.join(MATCH_MODES)}"
        )
    return text


def check_input_parameter(text: str, flag: str) -> None:
    """A path relative to the volume that stays inside it (split checks symlinks too)."""
    if not text:
        raise UsageError(f"{flag}: empty; give a file or directory relative to the volume")
    if "\0" in text:
        raise UsageError(f"{flag}: {text!r} contains a NUL byte")
    if text.startswith("/"):
        raise UsageError(f"{flag}: {text!r} is absolute; give a path relative to the volume")
    if os.path.normpath(text).split("/")[0] == "..":
        raise UsageError(f"{flag}: {text!r} leaves the volume (..); give a path inside it")


def check_parameter(name: str, value: str) -> None:
    """Check a workflow parameter value with the parser split applies to its flag.

    UsageError names the parameter, its flag, the value and what is allowed; parameters the job
    does not know are left alone.
    """
    flag = PARAMETER_FLAGS.get(name) or MERGE_PARAMETER_FLAGS.get(name)
    if flag is None:
        return
    where = label(flag)
    if name == "numParts":
        if value:
            parse_positive_int(value, where, maximum=LARGEST_MAX_PARTS)
    elif name == "partSize":
        if value:
            parse_size(value, where)
    elif name == "keywords":
        parse_keywords(value, where)
    elif name == "match":
        parse_match(value, where)
    elif name == "minSuccessRatio":
        parse_ratio(value, where)
    else:
        check_input_parameter(value, where)


def parse_size(text: str, flag: str) -> int:
    """``64MiB``, ``500KB``, ``1024`` (bytes) -> bytes; at least 1."""
    found = _SIZE_RE.fullmatch(text.strip())
    unit = found and _SIZE_UNITS.get(found.group(2).lower())
    if not found or unit is None:
        raise UsageError(
            f"{flag}: invalid size {text!r}; use a whole number of bytes with an optional "
            f"suffix {SIZE_SUFFIXES}, e.g. 64MiB"
        )
    size = int(found.group(1)) * unit
    if size < 1:
        raise UsageError(f"{flag}: size {text!r} must be at least 1 byte")
    return size


def parse_ratio(text: str, flag: str = "--min-success-ratio") -> float:
    """The share of shards that must be counted: a decimal above 0 and at most 1 (the chart's
    values.schema.json allows exactly these, so an install and the job agree)."""
    if not _RATIO_RE.fullmatch(text):
        raise UsageError(
            f"{flag}: {text!r} is not a ratio above 0 and at most 1; use a decimal such as 0.9, "
            "or 1 (every shard must be counted)"
        )
    return float(text)


def id_list_length(parts: int) -> int:
    """Bytes of the compact JSON array of shard ids "0" .. "<parts - 1>" that split prints."""
    if parts == 0:
        return len("[]")
    digits, low = 0, 0
    for width in range(1, len(str(parts - 1)) + 1):
        high = min(parts, 10**width)
        digits += (high - low) * width
        low = high
    # Two quotes per id, a comma between ids, and the brackets.
    return digits + 2 * parts + (parts - 1) + 2


def largest_max_parts(bound: int) -> int:
    """The largest shard count whose id list fits in `bound` bytes."""
    low, high = 0, bound
    while low < high:
        middle = (low + high + 1) // 2
        if id_list_length(middle) <= bound:
            low = middle
        else:
            high = middle - 1
    return low


LARGEST_MAX_PARTS = largest_max_parts(ID_LIST_BOUND)


def parse_positive_int(text: str, flag: str, maximum: int | None = None) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        allowed = f"from 1 to {maximum}" if maximum is not None else ">= 1"
        raise UsageError(f"{flag}: {text!r} is not an integer {allowed}") from None
    if value < 1:
        raise UsageError(f"{flag}: {value} must be at least 1")
    if maximum is not None and value > maximum:
        raise UsageError(f"{flag}: {value} is above the maximum {maximum}")
    return value


def parse_keywords(text: str, flag: str = "--keywords") -> tuple[str, ...]:
    """A comma-separated list of distinct, non-empty keywords without newlines (taken verbatim)."""
    keywords = tuple(text.split(","))
    seen: set[str] = set()
    for keyword in keywords:
        if not keyword:
            raise UsageError(f"{flag}: empty keyword in {text!r}; give comma-separated keywords")
        if "\n" in keyword:
            raise UsageError(f"{flag}: keyword {keyword!r} has a newline (not allowed)")
        if keyword in seen:
            raise UsageError(f"{flag}: keyword {keyword!r} is given twice")
        try:
            keyword.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{flag}: keyword {keyword!r} is not valid UTF-8") from None
        seen.add(keyword)
    return keywords


def chunk_size_from_env() -> int:
    text = os.environ.get(CHUNK_SIZE_ENV, "")
    return parse_size(text, CHUNK_SIZE_ENV) if text else DEFAULT_CHUNK_SIZE


# --- inputs ------------------------------------------------------------------------------------


class Identity(NamedTuple):
    """What tells one version of a file from another without reading it.

    ctime changes with every write and with every metadata change (os.utime included) and cannot
    be set back, so a rewrite that restores size and mtime is still seen. The device and inode
    numbers are those of one mount: another pod mounting the same shared volume (NFS, OSS) may
    see other numbers for the same file, so they are compared only within one mount.
    """

    size: int
    mtime_ns: int
    ctime_ns: int
    dev: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> Identity:
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)

    def differences(self, other: Identity) -> list[str]:
        """The fields that differ, as `name old -> new`; dev and inode only on the same dev."""
        names = ["size", "mtime_ns", "ctime_ns"]
        if self.dev == other.dev:
            names.append("inode")
        return [
            f"{name} {getattr(self, name)} -> {getattr(other, name)}"
            for name in names
            if getattr(self, name) != getattr(other, name)
        ]


class InputFile(NamedTuple):
    """An input as split recorded it. (Identity and InputFile are named tuples, not frozen
    dataclasses: merge makes one of each per input of the manifest, and a named tuple is made
    2.6 times faster: 100,000 of five fields in 0.035 s of CPU instead of 0.092 s.)"""

    path: str  # the real path: no symbolic link in any component (split resolved them)
    identity: Identity

    @property
    def size(self) -> int:
        return self.identity.size

    def to_json(self) -> dict:
        identity = self.identity
        return {
            "path": self.path,
            "size": identity.size,
            "mtime_ns": identity.mtime_ns,
            "ctime_ns": identity.ctime_ns,
            "dev": identity.dev,
            "inode": identity.inode,
        }

    def current(self) -> Identity:
        """The file's identity now, through its recorded real path."""
        try:
            if os.path.realpath(self.path) != self.path:
                raise UsageError(
                    f"input {self.path} is now reached through a symbolic link; re-run split"
                )
            return Identity.of(os.stat(self.path))
        except OSError as error:
            raise UsageError(f"input {self.path}: {error.strerror}; re-run split") from None

    def check_unchanged(self, since: str = "split") -> None:
        """Fail naming the file if it no longer has the identity recorded at split time."""
        self.check_same(self.identity, self.current(), f"since {since}")

    def check_same(self, before: Identity, after: Identity, when: str) -> None:
        changes = before.differences(after)
        if changes:
            raise UsageError(
                f"input {self.path} changed {when} ({', '.join(changes)}); re-run split"
            )


def resolve_inside(path: str, root: str, flag: str) -> str:
    """The real path of `path` (symbolic links resolved), which must lie inside `root`."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        shown = path if real == os.path.abspath(path) else f"{path} (-> {real})"
        raise UsageError(f"{flag}: {shown} is outside the volume root {root}; refused")
    return real


def io_map(
    function: Callable,
    items: Iterable,
    *,
    probe: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> list:
    """``[function(item) for item in items]``, up to IO_THREADS calls at a time, in order.

    For calls that wait on the volume (stat, open, small reads): on a network filesystem each is
    a round trip, and overlapping them is what keeps a step's time from growing with their
    number. The first exception raised by a call is raised here.

    Calls served from memory (the kernel's attribute cache after a listing with attributes, a
    local disk's cache) gain nothing from threads and lose to them: the pool's hand-offs and
    the interpreter lock cost more than the calls (100,000 cached lstats: 0.8 s of CPU in
    turn, 3.4 s through 64 threads). So, with `probe`, the calls run in the caller's thread,
    IO_PROBE at a time, for as long as the median call of each such group takes under
    IO_FAST_CALL seconds (timed by `clock`; a median, so that one pause of the interpreter's
    garbage collector does not count), and the first slower group hands the rest to the pool.
    Without `probe` (a call that is long work of its own, such as a run of reads), straight to
    the pool.

    The pool gets the items in at most IO_CHUNKS runs of neighbours, each run one task that
    calls `function` on its items in turn: a task per item cost the pool ~80 us of CPU each,
    which at 100,000 calls outweighed them 10 to 1. Runs of neighbours also keep the threads in
    different directories of a tree at once, where the kernel serves the lookups of one
    directory one at a time.
    """
    items = list(items)
    results: list = []
    if probe:
        while len(results) < len(items):
            seconds = []
            for item in items[len(results) : len(results) + IO_PROBE]:
                started = clock()
                results.append(function(item))
                seconds.append(clock() - started)
            if sorted(seconds)[len(seconds) // 2] > IO_FAST_CALL:
                break
    rest = items[len(results) :]
    if len(rest) <= 1:
        return results + [function(item) for item in rest]
    runs = min(len(rest), IO_CHUNKS)
    bounds = [len(rest) * run // runs for run in range(runs + 1)]

    def call_run(run: int) -> list:
        return [function(item) for item in rest[bounds[run] : bounds[run + 1]]]

    with ThreadPoolExecutor(max_workers=min(IO_THREADS, runs)) as pool:
        return results + [
            result for outcome in pool.map(call_run, range(runs)) for result in outcome
        ]


def list_inputs(path: str, flag: str = "--input", root: str = "/") -> list[InputFile]:
    """The file, or every regular file below the directory in sorted path order.

    Every path is resolved (symbolic links included) and must stay inside `root`; the inputs
    carry their real paths, so the steps after split never follow a link again.

    A directory costs one listing per directory and one lstat per entry (in parallel, see
    io_map), never an open: an entry that is not a symbolic link lies at its directory's real
    path, and its lstat gives its type and identity at once. Only a symbolic link costs more
    (its resolution and a stat of its target).
    """
    try:
        top = os.stat(path)
    except OSError as error:
        raise UsageError(f"{flag}: cannot read {path!r}: {error.strerror}") from None
    real = resolve_inside(path, root, flag)
    if stat.S_ISREG(top.st_mode):
        found = [(real, top)]
    elif stat.S_ISDIR(top.st_mode):
        found = _files_below(real, flag, root)
    else:
        raise UsageError(f"{flag}: {path!r} is neither a regular file nor a directory")
    for candidate, info in found:
        check_readable(candidate, info, flag)
    return [InputFile(candidate, Identity.of(info)) for candidate, info in found]


def check_readable(path: str, info: os.stat_result, flag: str) -> None:
    """Fail now rather than in a count task if this process may not read the file.

    Decided from the mode bits already at hand; only when they refuse is the kernel asked
    (os.access), since an access control list may still allow the read.
    """
    if os.geteuid() == 0:
        return
    if info.st_uid == os.geteuid():
        allowed = info.st_mode & stat.S_IRUSR
    elif info.st_gid == os.getegid() or info.st_gid in os.getgroups():
        allowed = info.st_mode & stat.S_IRGRP
    else:
        allowed = info.st_mode & stat.S_IROTH
    if not allowed and not os.access(path, os.R_OK):
        raise UsageError(f"{flag}: cannot read {path!r}: {os.strerror(13)}")


def _files_below(top: str, flag: str, root: str) -> list[tuple[str, os.stat_result]]:
    """(real path, stat) of the regular files below `top`, in the order of their paths below it.

    Symbolic links to directories are not walked; a link below `top` that leads outside `root`
    (to a file or a directory) is refused rather than skipped, so nothing is left out silently.
    Pipes, sockets, devices and dangling links are skipped, as are entries that vanish while
    they are listed.
    """

    def listing(directory: str) -> list[str]:
        try:
            with os.scandir(directory) as entries:
                return [entry.name for entry in entries]
        except OSError as error:
            raise UsageError(
                f"{flag}: cannot read directory {error.filename!r}: {error.strerror}"
            ) from None

    def examine(entry: tuple[str, tuple[str, ...]]):
        """(kind, real path, stat) of one listed path: kind is file, directory or None."""
        listed, _ = entry
        try:
            info = os.lstat(listed)
            real = listed
            if stat.S_ISLNK(info.st_mode):
                real = resolve_inside(listed, root, flag)
                info = os.stat(real)
                if stat.S_ISDIR(info.st_mode):
                    return None, real, info  # a link to a directory: checked, not walked
        except FileNotFoundError:
            return None, listed, None  # gone, or a dangling link (checked inside root above)
        except OSError as error:
            raise UsageError(f"{flag}: cannot read {listed!r}: {error.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            return "directory", real, info
        return ("file" if stat.S_ISREG(info.st_mode) else None), real, info

    found = []
    directories = [(top, ())]
    while directories:
        names = io_map(listing, [directory for directory, _ in directories])
        entries = [
            (os.path.join(directory, name), (*parts, name))
            for (directory, parts), listed in zip(directories, names, strict=True)
            for name in listed
        ]
        directories = []
        for (_, parts), (kind, real, info) in zip(entries, io_map(examine, entries), strict=True):
            if kind == "directory":
                directories.append((real, parts))
            elif kind == "file":
                found.append((parts, real, info))
    # Component-wise order, so "a/b" sorts before "a-c" as in a sorted tree listing.
    found.sort(key=lambda item: item[0])
    return [(real, info) for _, real, info in found]


def current_identities(
    inputs: Sequence[InputFile], list_directories: bool = False
) -> list[Identity | str]:
    """Each input's identity now, or why it has none (a problem naming it), in parallel.

    Same as InputFile.current for each, for fewer round trips: the real path of each distinct
    directory is resolved once, and a file costs one lstat (a symbolic link now in its place,
    or in any directory above it, is reported as in InputFile.current).

    With `list_directories`, each directory holding two inputs or more is listed first (in
    parallel). For a caller that checks every file of its directories (merge): where the
    client lists with attributes (NFS, ossfs 2.0's readdirplus) the kernel keeps them, and the
    lstats that follow cost no round trip, where otherwise each is a lookup, and the kernel
    sends the lookups of names in one directory one at a time (bench/latencyfs.py). A listing
    costs a round trip per page of names, so a caller checking a few files of a big directory
    (count) does not list.
    """
    per_directory = Counter(os.path.dirname(item.path) for item in inputs)
    directories = sorted(per_directory)
    resolved = dict(zip(directories, io_map(os.path.realpath, directories), strict=True))
    if list_directories:
        io_map(list_quietly, [name for name in directories if per_directory[name] > 1])

    def identity(item: InputFile) -> Identity | str:
        try:
            info = os.lstat(item.path)
        except OSError as error:
            return f"input {item.path}: {error.strerror}; re-run split"
        directory = os.path.dirname(item.path)
        if resolved[directory] != directory or stat.S_ISLNK(info.st_mode):
            return f"input {item.path} is now reached through a symbolic link; re-run split"
        return Identity.of(info)

    return io_map(identity, inputs)


def list_quietly(directory: str) -> None:
    """List a directory for the caches it fills (see current_identities); a failure shows in
    the calls that follow, which do not depend on the listing."""
    try:
        with os.scandir(directory) as entries:
            for _ in entries:
                pass
    except OSError:
        pass


def check_inputs_unchanged(
    inputs: Sequence[InputFile], since: str = "split", list_directories: bool = False
) -> None:
    """check_unchanged for many inputs at once; fails naming the first that changed (see
    current_identities for `list_directories`)."""
    for item, now in zip(inputs, current_identities(inputs, list_directories), strict=True):
        if now == item.identity:  # the common case, without naming each field
            continue
        if isinstance(now, str):
            raise UsageError(now)
        item.check_same(item.identity, now, f"since {since}")


# --- files -------------------------------------------------------------------------------------


def write_json_atomic(path: str, value: object) -> None:
    """Write JSON atomically (see write_bytes_atomic)."""
    write_bytes_atomic(path, (json.dumps(value, indent=1) + "\n").encode())


# A count file ends with its digest, the sha256 of the body's compact JSON exactly as written:
# BODY with its closing brace replaced by DIGEST_PREFIX, 64 hex digits and DIGEST_END. So merge
# hashes the bytes it read (2 us for a count file) instead of serializing the parsed document
# again in canonical form (50 us: 0.5 s of merge's CPU at 10,000 shards).
DIGEST_PREFIX = b',"' + DIGEST_FIELD.encode() + b'":"sha256:'
DIGEST_END = b'"}\n'
_DIGEST_TAIL = len(DIGEST_PREFIX) + 64 + len(DIGEST_END)


def count_file_bytes(document: dict) -> bytes:
    """A count file's content: the document (no digest field) as compact JSON, and its digest
    as the last field."""
    body = json.dumps(document, separators=(",", ":")).encode()
    digest = hashlib.sha256(body).hexdigest().encode()
    return body[:-1] + DIGEST_PREFIX + digest + DIGEST_END


def parse_count_file(data: bytes) -> tuple[object, bool]:
    """(the parsed count file, whether its digest matches its body); ValueError if it is not
    JSON at all."""
    document = json.loads(data)
    tail = data[-_DIGEST_TAIL:]
    intact = (
        len(data) > _DIGEST_TAIL
        and tail.startswith(DIGEST_PREFIX)
        and tail.endswith(DIGEST_END)
        and hashlib.sha256(data[:-_DIGEST_TAIL] + b"}").hexdigest().encode()
        == tail[len(DIGEST_PREFIX) : -len(DIGEST_END)]
    )
    return document, intact


def read_count_file(path: str) -> tuple[object, bool]:
    """parse_count_file of the file; OSError for a missing/unreadable one."""
    with open(path, "rb") as handle:
        return parse_count_file(handle.read())


def read_json(path: str) -> object:
    """Parse a JSON file; OSError for a missing/unreadable one, ValueError for a corrupt one."""
    return json.loads(read_whole(path))


def read_whole(path: str) -> bytes:
    """The file's bytes. A file larger than READ_PIECE (the manifest of 100,000 inputs: 26 MB)
    is read in pieces of that size at once (io_map): over ossfs or NAS one read() of it is some
    200 requests of 128 KiB sent one after another, a second at 5 ms each. A file that shrank
    meanwhile is ValueError ("ends early"); one that grew is read to its end."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(descriptor).st_size
        offsets = range(0, size, READ_PIECE) if size > READ_PIECE else range(0)
        pieces = io_map(
            lambda offset: _read_exactly(descriptor, offset, min(READ_PIECE, size - offset)),
            offsets,
            probe=False,
        )
        position = size if offsets else 0
        while True:  # the rest: all of a small file, whatever a big one gained since fstat
            data = os.pread(descriptor, READ_PIECE, position)
            if not data:
                return b"".join(pieces)
            pieces.append(data)
            position += len(data)
    finally:
        os.close(descriptor)


# --- manifest ----------------------------------------------------------------------------------

Range = tuple[int, int, int]  # (input index, start offset, end offset), end exclusive


@dataclass(frozen=True)
class Manifest:
    inputs: tuple[InputFile, ...]
    keywords: tuple[str, ...]
    match: str
    shards: dict[str, tuple[Range, ...]]  # shard id -> its ranges, in id order
    plan: dict

    @property
    def total_bytes(self) -> int:
        return sum(item.identity.size for item in self.inputs)

    def to_json(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "keywords": list(self.keywords),
            "match": self.match,
            "inputs": [item.to_json() for item in self.inputs],
            "shards": [
                {"id": shard_id, "ranges": [list(item) for item in ranges]}
                for shard_id, ranges in self.shards.items()
            ],
            "totals": {
                "files": len(self.inputs),
                "bytes": self.total_bytes,
                "shards": len(self.shards),
            },
            "plan": self.plan,
        }


IDENTITY_FIELDS = ("size", "mtime_ns", "ctime_ns", "dev", "inode")  # Identity's field order


def manifest_path(workdir: str) -> str:
    return os.path.join(workdir, MANIFEST_NAME)


def counts_path(workdir: str, shard_id: str) -> str:
    """Where the shard's count file lives: DIR/counts/NN/ID.json (NN: 00..ff, see COUNTS_FAN).

    A work directory written before this layout (DIR/counts/ID.json) is not read: its count
    files are not found, so a rerun recounts those shards and merge names them as missing.
    """
    bucket = zlib.crc32(shard_id.encode("utf-8")) % COUNTS_FAN
    return os.path.join(workdir, COUNTS_DIR, f"{bucket:02x}", f"{shard_id}.json")


def load_manifest(workdir: str) -> Manifest:
    path = manifest_path(workdir)
    try:
        document = read_json(path)
    except FileNotFoundError:
        raise UsageError(f"--workdir: no manifest at {path}; run split.py first") from None
    except OSError as error:
        raise UsageError(f"--workdir: cannot read manifest {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"--workdir: corrupt manifest {path}: {error}") from None
    try:
        return _parse_manifest(document)
    except KeyError as error:
        raise UsageError(f"--workdir: corrupt manifest {path}: no field {error}") from None
    except (TypeError, ValueError) as error:
        raise UsageError(f"--workdir: corrupt manifest {path}: {error}") from None


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


def is_count(value: object) -> bool:
    """A non-negative JSON integer (bool is an int subclass in Python, so exclude it)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _all_counts(values: Iterable[object]) -> bool:
    """is_count of every value, in one loop (the manifest holds hundreds of thousands; a loop
    is faster than all() over a generator)."""
    for value in values:  # noqa: SIM110
        if type(value) is not int or value < 0:  # type(): a bool is no count
            return False
    return True


def parse_ranges(value: object, inputs: Sequence[InputFile]) -> tuple[Range, ...]:
    _require(type(value) is list, "ranges must be a list")
    ranges = []
    for item in value:  # type: ignore[union-attr]
        # Each message is made only for a range that fails: a repr per range would cost more
        # than all the checks (the manifest of 10,000 shards holds over 100,000 ranges).
        if not (type(item) is list and len(item) == 3 and _all_counts(item)):
            raise ValueError(f"range {item!r} is not [input index, start, end]")
        index, start, end = item
        if index >= len(inputs):
            raise ValueError(f"range {item!r} names input {index} of {len(inputs)}")
        if not start < end <= inputs[index].identity.size:
            raise ValueError(f"range {item!r} is outside its input")
        ranges.append((index, start, end))
    return tuple(ranges)


_IDENTITY_OF = operator.itemgetter(*IDENTITY_FIELDS)


def _parse_manifest(document: object) -> Manifest:
    _require(isinstance(document, dict), "not a JSON object")
    _require(document["version"] == FORMAT_VERSION, f"version is not {FORMAT_VERSION}")
    keywords = document["keywords"]
    _require(
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords),
        "keywords must be a list of strings",
    )
    parse_keywords(",".join(keywords), "manifest keywords")
    _require(document["match"] in MATCH_MODES, f"match must be one of {MATCH_MODES}")
    inputs = []
    for item in document["inputs"]:
        valid = type(item) is dict and type(item["path"]) is str
        identity = _IDENTITY_OF(item) if valid else ()
        if not (valid and _all_counts(identity)):  # the message only then, as in parse_ranges
            raise ValueError(f"input {item!r} is not {{path, {', '.join(IDENTITY_FIELDS)}}}")
        inputs.append(InputFile(item["path"], Identity(*identity)))
    shards: dict[str, tuple[Range, ...]] = {}
    for position, shard in enumerate(document["shards"]):
        if shard["id"] != str(position):
            raise ValueError(f"shard {position} has id {shard['id']!r}")
        shards[shard["id"]] = parse_ranges(shard["ranges"], inputs)
    _require(bool(shards), "no shards")
    _require(isinstance(document["plan"], dict), "plan must be an object")
    return Manifest(tuple(inputs), tuple(keywords), document["match"], shards, document["plan"])


# --- shard plans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardPlan:
    """What one count task needs: its shard's ranges, the inputs they name, the settings."""

    part: str
    ranges: tuple[Range, ...]
    inputs: dict[int, InputFile]  # input index -> input, for the indexes the ranges name
    keywords: tuple[str, ...]
    match: str

    @property
    def bytes(self) -> int:
        return sum(end - start for _, start, end in self.ranges)

    def inputs_json(self) -> list[dict]:
        return [{"index": index, **self.inputs[index].to_json()} for index in sorted(self.inputs)]

    def record(self) -> dict:
        """The shard's record in the shard index (keywords and match are in its header)."""
        return {
            "part": self.part,
            "ranges": [list(item) for item in self.ranges],
            "inputs": self.inputs_json(),
        }


def shard_plan(manifest: Manifest, shard_id: str) -> ShardPlan:
    ranges = manifest.shards[shard_id]
    used = {index: manifest.inputs[index] for index, _, _ in ranges}
    return ShardPlan(shard_id, ranges, used, manifest.keywords, manifest.match)


def shard_index_path(workdir: str) -> str:
    return os.path.join(workdir, SHARD_INDEX_NAME)


# The shard index: a first line of exactly INDEX_PREFIX bytes (a JSON object padded with spaces:
# format, version, shards, the width of an index entry and where the entries and records
# start), the header JSON line (keywords, match), then one fixed-width entry per shard
# ("<offset> <length>\n", zero-padded decimals) and last the records, one JSON line per shard.
# A count reads the prefix and header (one read), its entry (one) and its record (one).
INDEX_FORMAT = "log-count shard index"
INDEX_PREFIX = 256
INDEX_FIRST_READ = 4096
_ENTRY_DIGITS = 15
INDEX_ENTRY = 2 * _ENTRY_DIGITS + 2


def shard_index_bytes(manifest: Manifest) -> bytes:
    """The shard index of a manifest (see above); deterministic for a given manifest."""
    header = _json_line({"keywords": list(manifest.keywords), "match": manifest.match})
    records = [_json_line(shard_plan(manifest, shard_id).record()) for shard_id in manifest.shards]
    entries_at = INDEX_PREFIX + len(header)
    records_at = entries_at + INDEX_ENTRY * len(records)
    entries, offset = [], records_at
    for record in records:
        entries.append(b"%0*d %0*d\n" % (_ENTRY_DIGITS, offset, _ENTRY_DIGITS, len(record)))
        offset += len(record)
    prefix = json.dumps(
        {
            "format": INDEX_FORMAT,
            "version": FORMAT_VERSION,
            "shards": len(records),
            "entry": INDEX_ENTRY,
            "header": len(header),
            "entries_at": entries_at,
        },
        separators=(",", ":"),
    ).encode()
    assert len(prefix) < INDEX_PREFIX
    prefix = prefix.ljust(INDEX_PREFIX - 1) + b"\n"
    return b"".join([prefix, header, *entries, *records])


def _json_line(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"


def write_bytes_atomic(path: str, data: bytes) -> None:
    """Write bytes via a temp file in the same directory and rename it into place.

    A killed or retried writer leaves either the old file or the new one, never a partial one.
    """
    directory = os.path.dirname(path) or "."
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    )
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_shard_plan(workdir: str, shard_id: str) -> ShardPlan:
    """One shard's plan from the shard index: one open and three small reads, whatever the
    number of shards or files (UsageError for a missing or corrupt index or an unknown id)."""
    path = shard_index_path(workdir)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise UsageError(f"--workdir: no shard index at {path}; run split.py first") from None
    except OSError as error:
        raise UsageError(f"--workdir: cannot read shard index {path}: {error.strerror}") from None
    try:
        if hasattr(os, "posix_fadvise"):  # three small reads: no read-ahead of the rest
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)
        return _read_shard_plan(descriptor, shard_id)
    except OSError as error:
        raise UsageError(f"--workdir: cannot read shard index {path}: {error.strerror}") from None
    except (KeyError, TypeError, ValueError) as error:
        what = f"no field {error}" if isinstance(error, KeyError) else str(error)
        raise UsageError(f"--workdir: corrupt shard index {path}: {what}") from None
    finally:
        os.close(descriptor)


def _read_exactly(descriptor: int, offset: int, length: int) -> bytes:
    data = os.pread(descriptor, length, offset)
    _require(len(data) == length, f"ends early (wanted {length} bytes at {offset})")
    return data


def _read_shard_plan(descriptor: int, shard_id: str) -> ShardPlan:
    first = os.pread(descriptor, INDEX_FIRST_READ, 0)
    _require(len(first) >= INDEX_PREFIX, "shorter than its first line")
    meta = json.loads(first[:INDEX_PREFIX])
    _require(isinstance(meta, dict), "first line is not a JSON object")
    _require(meta["format"] == INDEX_FORMAT, f"format is not {INDEX_FORMAT!r}")
    _require(meta["version"] == FORMAT_VERSION, f"version is not {FORMAT_VERSION}")
    shards, header_length = meta["shards"], meta["header"]
    _require(is_count(shards) and shards > 0, "shards must be a positive integer")
    _require(is_count(header_length) and meta["entry"] == INDEX_ENTRY, "bad header or entry size")
    end = INDEX_PREFIX + header_length
    header_bytes = first[INDEX_PREFIX:end]
    if len(header_bytes) < header_length:  # long keywords: the header goes on past the read
        header_bytes += _read_exactly(descriptor, len(first), end - len(first))
    header = json.loads(header_bytes)
    keywords, match = header["keywords"], header["match"]
    _require(
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords),
        "keywords must be a list of strings",
    )
    parse_keywords(",".join(keywords), "shard index keywords")
    _require(match in MATCH_MODES, f"match must be one of {MATCH_MODES}")
    if not (shard_id.isdigit() and str(int(shard_id)) == shard_id and int(shard_id) < shards):
        raise UsageError(
            f'--part: unknown part id {shard_id!r}; the manifest has parts "0".."{shards - 1}"'
        )
    entry = _read_exactly(descriptor, meta["entries_at"] + int(shard_id) * INDEX_ENTRY, INDEX_ENTRY)
    offset, length = (int(field) for field in entry.split())
    record = json.loads(_read_exactly(descriptor, offset, length))
    _require(record["part"] == shard_id, f"entry {shard_id} leads to part {record['part']!r}")
    inputs: dict[int, InputFile] = {}
    for item in record["inputs"]:
        _require(
            isinstance(item, dict)
            and is_count(item["index"])
            and isinstance(item["path"], str)
            and all(is_count(item[key]) for key in IDENTITY_FIELDS),
            f"input {item!r} is not {{index, path, {', '.join(IDENTITY_FIELDS)}}}",
        )
        identity = Identity(*(item[key] for key in IDENTITY_FIELDS))
        inputs[item["index"]] = InputFile(item["path"], identity)
    ranges = []
    for item in record["ranges"]:
        _require(
            isinstance(item, list) and len(item) == 3 and all(is_count(part) for part in item),
            f"range {item!r} is not [input index, start, end]",
        )
        index, start, stop = item
        _require(index in inputs, f"range {item!r} names an input the record does not carry")
        _require(start < stop <= inputs[index].size, f"range {item!r} is outside its input")
        ranges.append((index, start, stop))
    _require(sorted(inputs) == sorted({index for index, _, _ in ranges}), "unused inputs")
    return ShardPlan(shard_id, tuple(ranges), inputs, tuple(keywords), match)


# --- count files -------------------------------------------------------------------------------


def job_version() -> str:
    """The digest of the code that computes a count file (this module and count.py).

    A count file records it; a count file written by other code is not reused by a rerun, nor
    accepted by merge, so a rerun after an upgrade recounts rather than mixes results.
    """
    global _JOB_VERSION
    if _JOB_VERSION is None:
        digest = hashlib.sha256()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in ("logcount.py", "count.py"):
            with open(os.path.join(here, name), "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
        _JOB_VERSION = "sha256:" + digest.hexdigest()
    return _JOB_VERSION


_JOB_VERSION: str | None = None


def check_part(plan: ShardPlan, document: object, intact: bool) -> str | None:
    """Why a parsed count file (`intact`: its digest matched, parse_count_file) does not belong
    to this shard plan, or None if it does."""
    if not isinstance(document, dict):
        return "corrupt: not a JSON object"
    if not intact:
        return "corrupt: its digest does not match its content"
    part, version = document.get("part"), document.get("version")
    if version != FORMAT_VERSION or part != plan.part:
        return f"mismatched: it is for part {part!r}, format version {version!r}"
    if document.get("job") != job_version():
        return f"stale: written by job version {document.get('job')!r}, not {job_version()!r}"
    keywords, match = document.get("keywords"), document.get("match")
    if keywords != list(plan.keywords) or match != plan.match:
        return (
            f"mismatched settings: keywords {keywords!r} match {match!r}, the manifest has "
            f"{list(plan.keywords)!r} {plan.match!r}"
        )
    if document.get("ranges") != [list(item) for item in plan.ranges]:
        return "mismatched: its byte ranges differ from the manifest's"
    if document.get("inputs") != plan.inputs_json():
        return "stale: it counted inputs whose path or identity differ from the manifest's"
    counts = document.get("counts")
    if not (
        isinstance(counts, dict)
        and list(counts) == list(plan.keywords)
        and all(is_count(value) for value in counts.values())
        and is_count(document.get("lines"))
    ):
        return "corrupt: counts or lines are not non-negative integers for every keyword"
    if document.get("bytes") != plan.bytes:
        return f"corrupt: bytes {document.get('bytes')!r}, its ranges hold {plan.bytes}"
    return None


# --- counting ----------------------------------------------------------------------------------


class Matcher:
    """Counts keywords and line ends in buffers with the job's semantics (see the module doc)."""

    def __init__(self, keywords: Sequence[str], match: str) -> None:
        if match not in MATCH_MODES:
            raise ValueError(f"match must be one of {MATCH_MODES}, not {match!r}")
        self.keywords = tuple(keywords)
        self.match = match
        self._needles = [keyword.encode() for keyword in keywords]
        if match == "word":
            # The literal comes first so re's literal-prefix search drives the scan (a leading
            # lookbehind makes it try every byte, ~25x slower); the lookbehind then re-reads the
            # keyword plus the byte before it, and at offset 0 it cannot fit, so it passes.
            self._scanners = [
                re.compile(
                    b"%s(?<![%s]%s)(?![%s])"
                    % (re.escape(needle), WORD_BYTES, re.escape(needle), WORD_BYTES)
                )
                for needle in self._needles
            ]
            # A word match is settled only once the byte after it has been seen.
            self._lookahead = 1
        else:
            self._scanners = [re.compile(re.escape(needle)) for needle in self._needles]
            self._lookahead = 0
        self.longest = max(len(needle) for needle in self._needles)

    def count_lines(self, buffer: bytes | bytearray, end: int) -> list[int]:
        """Counts in ``buffer[:end]``, which starts at a line start and ends at a line end."""
        if self.match == "word":
            return [len(scanner.findall(buffer, 0, end)) for scanner in self._scanners]
        return [buffer.count(needle, 0, end) for needle in self._needles]

    def count_range(self, handle, start: int, end: int, chunk_size: int) -> tuple[list[int], int]:
        """(keyword counts, ``\\n`` count) of bytes ``start:end`` of an open binary file.

        ``start`` must be a line start. Reads at most about ``chunk_size`` bytes at a time into
        one reused buffer, so memory stays bounded whatever the range or line length.
        """
        # A chunk (no more than the range needs), and at least twice what a long line carries
        # over between reads (the longest keyword + 1 byte), so every read makes progress.
        capacity = max(min(chunk_size, end - start), 2 * (self.longest + 2))
        buffer = bytearray(capacity)
        view = memoryview(buffer)
        counts = [0] * len(self._needles)
        newlines = 0
        filled = 0  # valid bytes at the front of buffer
        # None while buffer[0] is a line start; inside a line longer than the buffer, the
        # per-keyword buffer offsets where each keyword's scan resumes.
        resume: list[int] | None = None
        handle.seek(start)
        remaining = end - start
        while True:
            while filled < capacity and remaining:
                got = handle.readinto(view[filled : filled + min(capacity - filled, remaining)])
                if not got:
                    raise OSError(f"{handle.name}: file ended early (truncated since split?)")
                filled += got
                remaining -= got
            if resume is not None:
                line_end = buffer.find(b"\n", 0, filled)
                if line_end < 0 and remaining:
                    resume, keep = self._scan_line_part(buffer, filled, resume, counts)
                    view[: filled - keep] = view[keep:filled]
                    filled -= keep
                    continue
                # The long line ends here (at a newline or at the end of the range).
                line_stop = filled if line_end < 0 else line_end
                for position, scanner in enumerate(self._scanners):
                    counts[position] += len(scanner.findall(buffer, resume[position], line_stop))
                resume = None
                consumed = filled if line_end < 0 else line_end + 1
                newlines += line_end >= 0
            else:
                consumed = filled if not remaining else buffer.rfind(b"\n", 0, filled) + 1
                if consumed == 0:
                    # No line end in a full buffer: switch to the position-tracking scan.
                    resume = [0] * len(self._scanners)
                    continue
                for position, found in enumerate(self.count_lines(buffer, consumed)):
                    counts[position] += found
                newlines += buffer.count(b"\n", 0, consumed)
            view[: filled - consumed] = view[consumed:filled]
            filled -= consumed
            if not filled and not remaining:
                return counts, newlines

    def _scan_line_part(
        self, buffer: bytearray, filled: int, resume: list[int], counts: list[int]
    ) -> tuple[list[int], int]:
        """Count the settled matches of a line that goes on past ``buffer[:filled]``.

        Returns the next resume offsets (relative to the kept tail) and how many leading bytes
        the caller may drop. Each keyword's scan continues where its last match ended, which
        keeps the non-overlapping semantics exact for self-overlapping keywords like "AA".
        """
        next_starts = []
        for position, scanner in enumerate(self._scanners):
            settled_end = filled - self._lookahead
            scan_from = resume[position]
            for found in scanner.finditer(buffer, scan_from, filled):
                if found.end() > settled_end:
                    break  # the byte after it is not read yet
                counts[position] += 1
                scan_from = found.end()
            # Earlier candidates were all decided with the bytes at hand.
            width = len(self._needles[position])
            next_starts.append(max(scan_from, filled - width + 1 - self._lookahead))
        # Keep one byte before the earliest resume point for word mode's lookbehind.
        keep = max(0, min(next_starts) - self._lookahead)
        return [offset - keep for offset in next_starts], keep


def ends_without_newline(handle, size: int) -> bool:
    """True if the file is non-empty and its last byte is not ``\\n`` (an unterminated line)."""
    if size == 0:
        return False
    handle.seek(size - 1)
    return handle.read(1) != b"\n"


def count_ranges(
    inputs: Sequence[InputFile],
    ranges: Iterable[Range],
    matcher: Matcher,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict:
    """Counts, bytes and lines over ranges of input files (each starting at a line start)."""
    counts = [0] * len(matcher.keywords)
    total_bytes = 0
    lines = 0
    for index, start, end in ranges:
        item = inputs[index]
        before = item.current()
        item.check_same(item.identity, before, "since split")
        with open(item.path, "rb") as handle:
            item.check_same(before, Identity.of(os.fstat(handle.fileno())), "while opened")
            found, newlines = matcher.count_range(handle, start, end, chunk_size)
            if end == item.size and ends_without_newline(handle, item.size):
                newlines += 1
            # A rewrite in place while it was read changes ctime; a rename over it, the inode.
            item.check_same(before, Identity.of(os.fstat(handle.fileno())), "while it was counted")
        item.check_same(before, item.current(), "while it was counted")
        counts = [a + b for a, b in zip(counts, found, strict=True)]
        total_bytes += end - start
        lines += newlines
    return {
        "counts": dict(zip(matcher.keywords, counts, strict=True)),
        "bytes": total_bytes,
        "lines": lines,
    }
