"""An independent log-count: whole files read at once, counted another way than the job does.

The job streams line-aligned chunks and counts with ``bytes.count`` (substring) or a regex with
lookarounds (word). This oracle reads each file whole and counts substrings with a regex and
words with a ``bytes.find`` scan that checks the neighbouring bytes by hand, so a bug in the
job's chunking, sharding or matching shows up as a difference. It is meant for test-sized data.

    expected_result(path, ["INFO", "WARN"], "word")
    -> {"counts": {...}, "keywords": [...], "match": "word", "files": F, "bytes": B, "lines": L}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def input_files(path: str | Path) -> list[Path]:
    """The file itself, or every regular file below the directory (order does not matter)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(item for item in path.rglob("*") if item.is_file())


def count_substring(data: bytes, keyword: bytes) -> int:
    """Non-overlapping occurrences, scanning left to right."""
    return len(re.findall(re.escape(keyword), data))


def count_word(data: bytes, keyword: bytes) -> int:
    """Like count_substring, but only occurrences with no [A-Za-z0-9_] byte either side."""
    found, position = 0, 0
    while (hit := data.find(keyword, position)) >= 0:
        before_ok = hit == 0 or data[hit - 1] not in _WORD_BYTES
        after = hit + len(keyword)
        after_ok = after == len(data) or data[after] not in _WORD_BYTES
        if before_ok and after_ok:
            found += 1
            position = after
        else:
            position = hit + 1
    return found


def count_lines(data: bytes) -> int:
    """Lines ending in a newline, plus a last line without one."""
    pieces = data.split(b"\n")
    return len(pieces) - 1 + (pieces[-1] != b"")


def expected_counts(data: bytes, keywords: Sequence[str], match: str) -> dict[str, int]:
    count = {"substring": count_substring, "word": count_word}[match]
    return {keyword: count(data, keyword.encode()) for keyword in keywords}


def expected_result(input_path: str | Path, keywords: Sequence[str], match: str) -> dict:
    """What merge should report for this input (the fields that do not depend on sharding)."""
    files = input_files(input_path)
    counts = dict.fromkeys(keywords, 0)
    total_bytes = lines = 0
    for file in files:
        data = file.read_bytes()
        for keyword, found in expected_counts(data, keywords, match).items():
            counts[keyword] += found
        total_bytes += len(data)
        lines += count_lines(data)
    return {
        "counts": counts,
        "keywords": list(keywords),
        "match": match,
        "files": len(files),
        "bytes": total_bytes,
        "lines": lines,
    }
