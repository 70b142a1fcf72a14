"""log-count count: count the keywords and lines of one shard planned by split.py.

Streams the shard's byte ranges in bounded chunks (see logcount.Matcher.count_range) and writes
DIR/counts/ID.json atomically. The count file repeats the shard's ranges, the settings and the
identity (path, size, mtime, ctime, device, inode) of the inputs it read, so merge can tell a
stale or mismatched part from a good one, and ends with a digest of the rest, so merge can tell
a damaged one. Each input's identity is checked against the manifest before it is read and again
after: a file rewritten meanwhile fails the count (exit 2, naming it) and no count file is
written. Re-running a count gives the same file.
"""

from __future__ import annotations

import os

import logcount


def count_shard(manifest: logcount.Manifest, shard_id: str, chunk_size: int) -> dict:
    """The count document of one shard, after checking its inputs did not change since split."""
    ranges = manifest.shards[shard_id]
    used = sorted({index for index, _, _ in ranges})
    for index in used:
        manifest.inputs[index].check_unchanged()  # before reading anything (count_ranges rechecks)
    matcher = logcount.Matcher(manifest.keywords, manifest.match)
    try:
        tally = logcount.count_ranges(manifest.inputs, ranges, matcher, chunk_size)
    except OSError as error:
        raise logcount.UsageError(f"cannot read input: {error}") from None
    return logcount.with_digest(
        {
            "version": logcount.FORMAT_VERSION,
            "part": shard_id,
            "keywords": list(manifest.keywords),
            "match": manifest.match,
            "ranges": [list(item) for item in ranges],
            "inputs": [{"index": index, **manifest.inputs[index].to_json()} for index in used],
            **tally,
        }
    )


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="count.py",
        description=(
            "Count one log-count shard. Writes DIR/counts/ID.json atomically and prints "
            "{part, counts, bytes, lines} as JSON on stdout."
        ),
        epilog=(
            f"The read chunk is {logcount.DEFAULT_CHUNK_SIZE} bytes unless "
            f"{logcount.CHUNK_SIZE_ENV} gives another size (used by tests). "
            "Exit codes: 0 ok, 2 bad usage, a missing/corrupt manifest, an unknown part or an "
            "input changed since split or while it was counted."
        ),
    )
    parser.add_argument("--workdir", required=True, metavar="DIR", help="split.py's --workdir")
    parser.add_argument("--part", required=True, metavar="ID", help="a shard id split printed")
    return parser


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    chunk_size = logcount.chunk_size_from_env()
    manifest = logcount.load_manifest(args.workdir)
    if args.part not in manifest.shards:
        raise logcount.UsageError(
            f"--part: unknown part id {args.part!r}; the manifest has parts "
            f'"0".."{len(manifest.shards) - 1}"'
        )
    document = count_shard(manifest, args.part, chunk_size)
    target = logcount.counts_path(args.workdir, args.part)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        logcount.write_json_atomic(target, document)
    except OSError as error:
        raise logcount.UsageError(f"--workdir: cannot write {target!r}: {error.strerror}") from None
    logcount.print_json({key: document[key] for key in ("part", "counts", "bytes", "lines")})


if __name__ == "__main__":
    raise SystemExit(logcount.run(main))
