"""log-count merge: verify every shard's count file, then sum them into the result.

The count files are read in parallel (logcount.io_map), after one listing of each count
directory made while the manifest is read (see list_count_directories), and the inputs are
checked meanwhile. By default (--min-success-ratio 1) nothing is written unless all is well: the
manifest's shards must cover every input byte exactly once, and every shard needs an intact
count file (its digest matches) for exactly its ranges, settings, job version and input
identity. Otherwise merge names each missing, corrupt, stale or mismatched part and exits 2: no
rerun of merge can mend a part, so the chart's retryStrategy (noRetryExitCodes) ends the run at
once instead of after merge's retries. Only when a count file could not be read (an I/O error
such as EIO or a timeout on a network volume, which a retry may get past) does it exit 1. Last,
every input must still have the identity the manifest recorded (exit 2, naming the file, if one
changed after it was counted; the parts' problems, if any, are reported first).

With --min-success-ratio R below 1, an unusable part is left out instead, as long as the shards
counted are at least R of all shards: the result then says exactly what it lacks (coverage,
missing shards, byte ranges and files). Below R, merge fails as above (exit 2, or 1 after a
read error) and writes nothing.
Every result carries `coverage` and `missing` (1.0 and empty on a full run).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import logcount


def check_tiling(manifest: logcount.Manifest) -> list[str]:
    """Problems with how the shards cover the inputs (each byte exactly once), input by input.

    One sort of every range and one pass over them: at 100,000 inputs a list of ranges per
    input cost a quarter of merge's CPU."""
    ranges = sorted(
        (index, start, end, shard_id)
        for shard_id, shard_ranges in manifest.shards.items()
        for index, start, end in shard_ranges
    )
    covered = [0] * len(manifest.inputs)
    found = []  # (input index, order within it, problem)
    for index, start, end, shard_id in ranges:
        reached = covered[index]
        if start != reached:
            what = "gap" if start > reached else "overlap"
            where = min(start, reached)
            path = manifest.inputs[index].path
            found.append((index, 0, f"{what} in {path} at byte {where} (shard {shard_id})"))
        if end > reached:
            covered[index] = end
    for index, item in enumerate(manifest.inputs):
        if covered[index] != item.identity.size:
            problem = f"{item.path}: bytes {covered[index]}..{item.identity.size} are in no shard"
            found.append((index, 1, problem))
    return [problem for _, _, problem in sorted(found, key=lambda entry: entry[:2])]


def check_part(
    manifest: logcount.Manifest, shard_id: str, document: object, intact: bool
) -> str | None:
    """Why a parsed count file does not belong to this manifest's shard, or None if it does."""
    return logcount.check_part(logcount.shard_plan(manifest, shard_id), document, intact)


class Unreadable(str):
    """The problem with a count file that could not be read (an I/O error: may be transient)."""


def list_count_directories(workdir: str) -> None:
    """List DIR/counts and each directory in it, once (in parallel), for the caches it fills:
    where the client lists with attributes (NFS, ossfs 2.0's readdirplus) the kernel then knows
    every count file, and opening one costs no lookup, a round trip the kernel would otherwise
    send one at a time per directory. Each count file is still opened by its name, listed or
    not, so a listing cached by this pod's client before another pod wrote a count file never
    makes that file missing. A listing that fails costs nothing but its gain. It needs no
    manifest, so main runs it while the manifest is read and parsed."""
    parent = os.path.join(workdir, logcount.COUNTS_DIR)
    try:
        with os.scandir(parent) as entries:
            # Every entry: asking which are directories could cost a lookup each.
            directories = sorted(entry.path for entry in entries)
    except OSError:
        return
    logcount.io_map(logcount.list_quietly, directories)


def read_part(manifest: logcount.Manifest, workdir: str, shard_id: str) -> dict | str:
    """The shard's verified count document, or the problem with it."""
    path = logcount.counts_path(workdir, shard_id)
    try:
        document, intact = logcount.read_count_file(path)
    except FileNotFoundError:
        return f"missing {path}"
    except (IsADirectoryError, NotADirectoryError) as error:
        return f"not a count file: {path}: {error.strerror}"  # stays so: not retried
    except OSError as error:
        return Unreadable(f"cannot read {path}: {error.strerror}")
    except ValueError as error:
        return f"corrupt {path}: {error}"
    problem = check_part(manifest, shard_id, document, intact)
    return f"{problem} ({path})" if problem else document


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def merge(
    manifest: logcount.Manifest,
    workdir: str,
    min_success_ratio: float = logcount.DEFAULT_MIN_SUCCESS_RATIO,
) -> dict:
    """The result, or VerificationError naming every unusable part.

    Below a min_success_ratio of 1, unusable parts are left out while the shards counted are at
    least that share of all shards; the result's `coverage` and `missing` say what was left out.
    """
    tiling = [f"manifest: {problem}" for problem in check_tiling(manifest)]
    # The inputs are checked (below, before anything is written) while the count files are
    # read: on a network volume both are round trips, so they overlap rather than add up.
    with ThreadPoolExecutor(max_workers=1) as beside:
        inputs_checked = beside.submit(
            logcount.check_inputs_unchanged, manifest.inputs, list_directories=True
        )
        # In the order of their paths, so that each of io_map's runs is whole count
        # directories: the threads then do not queue for the same directory's lookups.
        order = sorted(
            manifest.shards, key=lambda shard_id: logcount.counts_path(workdir, shard_id)
        )
        outcomes = logcount.io_map(lambda shard_id: read_part(manifest, workdir, shard_id), order)
        by_shard = dict(zip(order, outcomes, strict=True))
        read = [by_shard[shard_id] for shard_id in manifest.shards]
        inputs_problem = inputs_checked.exception()
    parts = {}
    failed = {}
    for shard_id, outcome in zip(manifest.shards, read, strict=True):
        if isinstance(outcome, str):
            failed[shard_id] = outcome
        else:
            parts[shard_id] = outcome
    shards_ratio = ratio(len(parts), len(manifest.shards))
    if tiling or (failed and (min_success_ratio >= 1 or shards_ratio < min_success_ratio)):
        problems = tiling + [f"part {shard_id}: {reason}" for shard_id, reason in failed.items()]
        if failed and not tiling and min_success_ratio < 1:
            problems.append(
                f"coverage: {len(parts)} of {len(manifest.shards)} shards "
                f"({shards_ratio:.6g}) is below --min-success-ratio {min_success_ratio:g}"
            )
        raise logcount.VerificationError(
            f"{len(problems)} problem(s); no result written:\n" + "\n".join(problems),
            retryable=any(isinstance(reason, Unreadable) for reason in failed.values()),
        )
    if inputs_problem is not None:
        raise inputs_problem
    counted_bytes = sum(part["bytes"] for part in parts.values())
    total_bytes = manifest.total_bytes
    missing_ranges = [
        {"shard": shard_id, "path": manifest.inputs[index].path, "start": start, "end": end}
        for shard_id in failed
        for index, start, end in manifest.shards[shard_id]
    ]
    missing_files = sorted({item["path"] for item in missing_ranges})
    if failed:
        logcount.log(
            f"merge: PARTIAL result: {len(parts)} of {len(manifest.shards)} shards "
            f"({shards_ratio:.2%}), {counted_bytes} of {total_bytes} bytes; at least "
            f"--min-success-ratio {min_success_ratio:g} of the shards were needed. Left out:\n"
            + "\n".join(f"part {shard_id}: {reason}" for shard_id, reason in failed.items())
        )
    return {
        "counts": {
            keyword: sum(part["counts"][keyword] for part in parts.values())
            for keyword in manifest.keywords
        },
        "keywords": list(manifest.keywords),
        "match": manifest.match,
        "shards": len(manifest.shards),
        "files": len(manifest.inputs),
        "bytes": counted_bytes,
        "lines": sum(part["lines"] for part in parts.values()),
        "coverage": {
            "shards": shards_ratio,
            "bytes": ratio(counted_bytes, total_bytes),
            "shards_counted": len(parts),
            "shards_total": len(manifest.shards),
            "bytes_counted": counted_bytes,
            "bytes_total": total_bytes,
        },
        "missing": {
            "shards": [{"id": shard_id, "reason": reason} for shard_id, reason in failed.items()],
            "ranges": missing_ranges,
            "files": missing_files,
        },
    }


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="merge.py",
        description=(
            "Verify and sum the log-count parts. Writes the result JSON to PATH atomically and "
            "prints it on stdout."
        ),
        epilog=(
            "Exit codes: 0 ok; 2 parts are missing, corrupt, stale or mismatched (each is named "
            "on stderr; no result is written) and the shards counted are below "
            "--min-success-ratio, or bad usage, a missing/corrupt manifest or an input changed "
            "since split (permanent: a retry of merge cannot fix it); 1 as 2 for the parts, but "
            "a count file could not be read (an I/O error, which a retry may get past)."
        ),
    )
    parser.add_argument("--workdir", required=True, metavar="DIR", help="split.py's --workdir")
    parser.add_argument("--output", required=True, metavar="PATH", help="the result JSON file")
    parser.add_argument(
        "--min-success-ratio",
        default=str(logcount.DEFAULT_MIN_SUCCESS_RATIO),
        metavar="R",
        help="the share of shards, in (0, 1], that must be counted for a result (default: "
        "%(default)s: every shard, else exit 1 and no result). Below 1 a partial result is "
        "written, with its coverage and the exact missing byte ranges and files",
    )
    return parser


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    min_success_ratio = logcount.parse_ratio(
        args.min_success_ratio, logcount.label("--min-success-ratio")
    )
    with ThreadPoolExecutor(max_workers=1) as beside:
        listed = beside.submit(list_count_directories, args.workdir)
        manifest = logcount.load_manifest(args.workdir)
        listed.result()
    result = merge(manifest, args.workdir, min_success_ratio)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        logcount.write_json_atomic(args.output, result)
    except OSError as error:
        raise logcount.UsageError(
            f"--output: cannot write {args.output!r}: {error.strerror}"
        ) from None
    logcount.print_json(result)


if __name__ == "__main__":
    raise SystemExit(logcount.run(main))
