"""log-count merge: verify every shard's count file, then sum them into the result.

Nothing is written unless all is well: the manifest's shards must cover every input byte exactly
once, and every shard needs an intact count file (its digest matches) for exactly its ranges,
settings and input identity. Otherwise merge exits 1 and names each missing, corrupt, stale or
mismatched part. Last, every input must still have the identity the manifest recorded (exit 2,
naming the file, if one changed after it was counted).
"""

from __future__ import annotations

import os
from collections import defaultdict

import logcount


def check_tiling(manifest: logcount.Manifest) -> list[str]:
    """Problems with how the shards cover the inputs (each byte exactly once)."""
    by_input: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for shard_id, ranges in manifest.shards.items():
        for index, start, end in ranges:
            by_input[index].append((start, end, shard_id))
    problems = []
    for index, item in enumerate(manifest.inputs):
        covered = 0
        for start, end, shard_id in sorted(by_input[index]):
            if start != covered:
                what = "gap" if start > covered else "overlap"
                where = min(start, covered)
                problems.append(f"{what} in {item.path} at byte {where} (shard {shard_id})")
            covered = max(covered, end)
        if covered != item.size:
            problems.append(f"{item.path}: bytes {covered}..{item.size} are in no shard")
    return problems


def check_part(manifest: logcount.Manifest, shard_id: str, document: object) -> str | None:
    """Why a parsed count file does not belong to this manifest's shard, or None if it does."""
    if not isinstance(document, dict):
        return "corrupt: not a JSON object"
    if document.get(logcount.DIGEST_FIELD) != logcount.body_digest(document):
        return "corrupt: its digest does not match its content"
    expected_inputs = [
        {"index": index, **manifest.inputs[index].to_json()}
        for index in sorted({index for index, _, _ in manifest.shards[shard_id]})
    ]
    part, version = document.get("part"), document.get("version")
    if version != logcount.FORMAT_VERSION or part != shard_id:
        return f"mismatched: it is for part {part!r}, format version {version!r}"
    keywords, match = document.get("keywords"), document.get("match")
    if keywords != list(manifest.keywords) or match != manifest.match:
        return (
            f"mismatched settings: keywords {keywords!r} match {match!r}, the manifest has "
            f"{list(manifest.keywords)!r} {manifest.match!r}"
        )
    if document.get("ranges") != [list(item) for item in manifest.shards[shard_id]]:
        return "mismatched: its byte ranges differ from the manifest's"
    if document.get("inputs") != expected_inputs:
        return "stale: it counted inputs whose path or identity differ from the manifest's"
    counts = document.get("counts")
    if not (
        isinstance(counts, dict)
        and list(counts) == list(manifest.keywords)
        and all(logcount.is_count(value) for value in counts.values())
        and logcount.is_count(document.get("lines"))
    ):
        return "corrupt: counts or lines are not non-negative integers for every keyword"
    expected_bytes = sum(end - start for _, start, end in manifest.shards[shard_id])
    if document.get("bytes") != expected_bytes:
        return f"corrupt: bytes {document.get('bytes')!r}, its ranges hold {expected_bytes}"
    return None


def merge(manifest: logcount.Manifest, workdir: str) -> dict:
    """The result, or VerificationError naming every unusable part."""
    problems = [f"manifest: {problem}" for problem in check_tiling(manifest)]
    parts = []
    for shard_id in manifest.shards:
        path = logcount.counts_path(workdir, shard_id)
        try:
            document = logcount.read_json(path)
        except FileNotFoundError:
            problems.append(f"part {shard_id}: missing {path}")
            continue
        except OSError as error:
            problems.append(f"part {shard_id}: cannot read {path}: {error.strerror}")
            continue
        except ValueError as error:
            problems.append(f"part {shard_id}: corrupt {path}: {error}")
            continue
        problem = check_part(manifest, shard_id, document)
        if problem:
            problems.append(f"part {shard_id}: {problem} ({path})")
        else:
            parts.append(document)
    if problems:
        raise logcount.VerificationError(
            f"{len(problems)} problem(s); no result written:\n" + "\n".join(problems)
        )
    for item in manifest.inputs:
        item.check_unchanged()
    return {
        "counts": {
            keyword: sum(part["counts"][keyword] for part in parts) for keyword in manifest.keywords
        },
        "keywords": list(manifest.keywords),
        "match": manifest.match,
        "shards": len(manifest.shards),
        "files": len(manifest.inputs),
        "bytes": sum(part["bytes"] for part in parts),
        "lines": sum(part["lines"] for part in parts),
    }


def build_parser() -> logcount.ArgumentParser:
    parser = logcount.ArgumentParser(
        prog="merge.py",
        description=(
            "Verify and sum the log-count parts. Writes the result JSON to PATH atomically and "
            "prints it on stdout."
        ),
        epilog=(
            "Exit codes: 0 ok, 1 a part is missing, corrupt, stale or mismatched (each is named "
            "on stderr; no result is written), 2 bad usage, a missing/corrupt manifest or an "
            "input changed since split."
        ),
    )
    parser.add_argument("--workdir", required=True, metavar="DIR", help="split.py's --workdir")
    parser.add_argument("--output", required=True, metavar="PATH", help="the result JSON file")
    return parser


def main(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    manifest = logcount.load_manifest(args.workdir)
    result = merge(manifest, args.workdir)
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
