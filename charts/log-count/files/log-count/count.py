"""log-count count: count the keywords and lines of one shard planned by split.py.

Reads only its own shard's plan from DIR/shards.idx (one open and three small reads, whatever
the number of shards or files), streams the shard's byte ranges in bounded chunks (see
logcount.Matcher.count_range) and writes DIR/counts/NN/ID.json atomically (NN: one of 256
subdirectories, logcount.counts_path). The count file repeats
the shard's ranges, the settings, the job version and the identity (path, size, mtime, ctime,
device, inode) of the inputs it read, so merge can tell a stale or mismatched part from a good
one, and ends with a digest of the rest, so merge can tell a damaged one. Each input's identity
is checked against the plan before it is read and again after: a file rewritten meanwhile fails
the count (exit 2, naming it) and no count file is written. Re-running a count gives the same
file.

A rerun (Argo's retry of failed nodes, run-local --resume) finds the count files of the shards
that succeeded: a count file that verifies against this shard's plan (same ranges, input
identity, settings and job version, digest intact) is kept, and the count exits at once without
reading any data, saying so on stderr and with "reused": true on stdout.
"""

from __future__ import annotations

import os

import logcount


def count_shard(
    manifest: logcount.Manifest | logcount.ShardPlan, shard_id: str, chunk_size: int
) -> dict:
    """The count document of one shard (its file adds the digest, logcount.count_file_bytes),
    after checking its inputs did not change since split."""
    plan = (
        manifest
        if isinstance(manifest, logcount.ShardPlan)
        else logcount.shard_plan(manifest, shard_id)
    )
    for index in sorted(plan.inputs):
        plan.inputs[index].check_unchanged()  # before reading anything (count_ranges rechecks)
    matcher = logcount.Matcher(plan.keywords, plan.match)
    inputs = [plan.inputs.get(index) for index in range(max(plan.inputs, default=-1) + 1)]
    try:
        tally = logcount.count_ranges(inputs, plan.ranges, matcher, chunk_size)
    except OSError as error:
        raise logcount.UsageError(f"cannot read input: {error}") from None
    return {
        "version": logcount.FORMAT_VERSION,
        "job": logcount.job_version(),
        "part": plan.part,
        "keywords": list(plan.keywords),
        "match": plan.match,
        "ranges": [list(item) for item in plan.ranges],
        "inputs": plan.inputs_json(),
        **tally,
    }


def reusable(plan: logcount.ShardPlan, path: str) -> dict | None:
    """The existing count file at `path` if it verifies against the plan, else None."""
    try:
        document, intact = logcount.read_count_file(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logcount.log(f"count: part {plan.part}: existing {path} is unusable ({error}); recounting")
        return None
    problem = logcount.check_part(plan, document, intact)
    if problem is not None:
        logcount.log(f"count: part {plan.part}: existing {path} is {problem}; recounting")
        return None
    return document


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="count.py",
        description=(
            "Count one log-count shard. Writes DIR/counts/NN/ID.json atomically and prints "
            "{part, counts, bytes, lines, reused} as JSON on stdout. A count file that already "
            "verifies against the shard is kept (reused: true) and no data is read."
        ),
        epilog=(
            f"The read chunk is {logcount.DEFAULT_CHUNK_SIZE} bytes unless "
            f"{logcount.CHUNK_SIZE_ENV} gives another size (used by tests). "
            "Exit codes: 0 ok, 2 bad usage, a missing/corrupt shard index, an unknown part or an "
            "input changed since split or while it was counted."
        ),
    )
    parser.add_argument("--workdir", required=True, metavar="DIR", help="split.py's --workdir")
    parser.add_argument("--part", required=True, metavar="ID", help="a shard id split printed")
    return parser


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    chunk_size = logcount.chunk_size_from_env()
    plan = logcount.load_shard_plan(args.workdir, args.part)
    target = logcount.counts_path(args.workdir, args.part)
    document = reusable(plan, target)
    reused = document is not None
    if reused:
        logcount.log(
            f"count: part {args.part} already counted: {target} verifies against this shard, "
            "its inputs, the settings and the job version; kept, no data read"
        )
    else:
        document = count_shard(plan, args.part, chunk_size)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            logcount.write_bytes_atomic(target, logcount.count_file_bytes(document))
        except OSError as error:
            raise logcount.UsageError(
                f"--workdir: cannot write {target!r}: {error.strerror}"
            ) from None
    summary = {key: document[key] for key in ("part", "counts", "bytes", "lines")}
    logcount.print_json({**summary, "reused": reused})


if __name__ == "__main__":
    raise SystemExit(logcount.run(main))
