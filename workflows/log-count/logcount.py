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
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

DEFAULT_KEYWORDS = ("INFO", "WARN", "ERROR", "DEBUG")
MATCH_MODES = ("substring", "word")
DEFAULT_MATCH = "substring"
DEFAULT_MAX_PARTS = 10_000
# Argo keeps only the last 256 KiB of a step's stdout as outputs.result, so a longer shard id
# list reaches withParam as broken JSON. split keeps its list within this bound (a quarter of
# margin) by refusing a --max-parts above LARGEST_MAX_PARTS (the chart's schema repeats it).
ID_LIST_BOUND = 192 * 1024
MANIFEST_NAME = "manifest.json"
COUNTS_DIR = "counts"
FORMAT_VERSION = 2
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
    """The parts do not add up (merge): the step exits 1 with this message on stderr."""


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
        return EXIT_VERIFICATION
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
# minSuccessRatio (merge's --min-success-ratio): a decimal above 0 and at most 1, e.g. 0.9, or 1.
_RATIO_RE = re.compile(r"0?\.[0-9]*[1-9][0-9]*|1(?:\.0+)?")


def label(flag: str) -> str:
    """How an error names a flag: `numParts (--parts)`, or the flag alone if no parameter."""
    for parameter, known in PARAMETER_FLAGS.items():
        if known == flag:
            return f"{parameter} ({flag})"
    return flag


def parse_match(text: str, flag: str = "--match") -> str:
    if text not in MATCH_MODES:
        raise UsageError(
            f"{flag}: {text!r} is not a match mode; use one of {', '.join(MATCH_MODES)}"
        )
    return text


def parse_ratio(text: str, flag: str = "--min-success-ratio") -> float:
    """The share of shards that must be counted: a decimal above 0 and at most 1."""
    if not _RATIO_RE.fullmatch(text):
        raise UsageError(
            f"{flag}: {text!r} is not a ratio above 0 and at most 1; use a decimal such as 0.9, "
            "or 1 (every shard must be counted)"
        )
    return float(text)


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
    flag = PARAMETER_FLAGS.get(name)
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


@dataclass(frozen=True)
class Identity:
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


@dataclass(frozen=True)
class InputFile:
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


def list_inputs(path: str, flag: str = "--input", root: str = "/") -> list[InputFile]:
    """The file, or every regular file below the directory in sorted path order.

    Every path is resolved (symbolic links included) and must stay inside `root`; the inputs
    carry their real paths, so the steps after split never follow a link again.
    """
    try:
        top = os.stat(path)
    except OSError as error:
        raise UsageError(f"{flag}: cannot read {path!r}: {error.strerror}") from None
    real = resolve_inside(path, root, flag)
    if stat.S_ISREG(top.st_mode):
        candidates = [real]
    elif stat.S_ISDIR(top.st_mode):
        candidates = _files_below(real, flag, root)
    else:
        raise UsageError(f"{flag}: {path!r} is neither a regular file nor a directory")
    inputs = []
    for candidate in candidates:
        try:
            info = os.stat(candidate)
            # Skip pipes, sockets and devices (opening a pipe would block) and dangling links.
            if not stat.S_ISREG(info.st_mode):
                continue
            with open(candidate, "rb"):
                pass  # readable now, so count tasks will not fail on permissions later
        except FileNotFoundError:
            continue
        except OSError as error:
            raise UsageError(f"{flag}: cannot read {candidate!r}: {error.strerror}") from None
        inputs.append(InputFile(candidate, Identity.of(info)))
    return inputs


def _files_below(top: str, flag: str, root: str) -> list[str]:
    """The real paths of the files below `top`, listed in the order of their paths below it.

    Symbolic links to directories are not walked; a link below `top` that leads outside `root`
    (to a file or a directory) is refused rather than skipped, so nothing is left out silently.
    """

    def fail(error: OSError) -> None:
        raise UsageError(f"{flag}: cannot read directory {error.filename!r}: {error.strerror}")

    found = []
    for directory, subdirectories, names in os.walk(top, onerror=fail):
        subdirectories.sort()
        for name in subdirectories:
            link = os.path.join(directory, name)
            if os.path.islink(link):
                resolve_inside(link, root, flag)
        for name in names:
            listed = os.path.join(directory, name)
            found.append((listed, resolve_inside(listed, root, flag)))
    # Component-wise order, so "a/b" sorts before "a-c" as in a sorted tree listing.
    found.sort(key=lambda pair: os.path.relpath(pair[0], top).split(os.sep))
    return [real for _, real in found]


# --- files -------------------------------------------------------------------------------------


def write_json_atomic(path: str, value: object) -> None:
    """Write JSON via a temp file in the same directory and rename it into place.

    A killed or retried writer leaves either the old file or the new one, never a partial one.
    """
    directory = os.path.dirname(path) or "."
    temporary = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    )
    data = (json.dumps(value, indent=1) + "\n").encode()
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


def body_digest(document: dict) -> str:
    """sha256 of a document's canonical JSON without its digest field."""
    body = {key: value for key, value in document.items() if key != DIGEST_FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def with_digest(document: dict) -> dict:
    return {**document, DIGEST_FIELD: body_digest(document)}


def read_json(path: str) -> object:
    """Parse a JSON file; OSError for a missing/unreadable one, ValueError for a corrupt one."""
    with open(path, "rb") as handle:
        return json.loads(handle.read())


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
        return sum(item.size for item in self.inputs)

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
    return os.path.join(workdir, COUNTS_DIR, f"{shard_id}.json")


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


def parse_ranges(value: object, inputs: Sequence[InputFile]) -> tuple[Range, ...]:
    _require(isinstance(value, list), "ranges must be a list")
    ranges = []
    for item in value:
        _require(
            isinstance(item, list) and len(item) == 3 and all(is_count(part) for part in item),
            f"range {item!r} is not [input index, start, end]",
        )
        index, start, end = item
        _require(index < len(inputs), f"range {item!r} names input {index} of {len(inputs)}")
        _require(start < end <= inputs[index].size, f"range {item!r} is outside its input")
        ranges.append((index, start, end))
    return tuple(ranges)


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
        _require(
            isinstance(item, dict)
            and isinstance(item["path"], str)
            and all(is_count(item[key]) for key in IDENTITY_FIELDS),
            f"input {item!r} is not {{path, {', '.join(IDENTITY_FIELDS)}}}",
        )
        inputs.append(InputFile(item["path"], Identity(*(item[key] for key in IDENTITY_FIELDS))))
    shards: dict[str, tuple[Range, ...]] = {}
    for position, shard in enumerate(document["shards"]):
        _require(shard["id"] == str(position), f"shard {position} has id {shard['id']!r}")
        shards[shard["id"]] = parse_ranges(shard["ranges"], inputs)
    _require(bool(shards), "no shards")
    _require(isinstance(document["plan"], dict), "plan must be an object")
    return Manifest(tuple(inputs), tuple(keywords), document["match"], shards, document["plan"])


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
