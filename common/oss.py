"""How an OSS-backed workflow volume maps to object keys: shared by the program, which mounts a
directory of the bucket (infra/ackone/oss.py), and the run commands, which upload inputs below
it (workflows/runs/inputs.py)."""

from pathlib import PurePosixPath


def object_prefix(mount_path: str, *parts: str) -> str:
    """The object key prefix of a directory under the mounted bucket path (no leading slash)."""
    joined = PurePosixPath("/", mount_path, *parts).as_posix().lstrip("/")
    return f"{joined}/" if joined else ""
