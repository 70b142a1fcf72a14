"""A FUSE passthrough filesystem that makes every metadata call and every read a round trip.

    .venv/bin/python bench/latencyfs.py SOURCE MOUNTPOINT --delay-ms 5 --stats STATS.json

Mounts SOURCE at MOUNTPOINT (in the foreground, until ``fusermount3 -u MOUNTPOINT``) and sleeps
``--delay-ms`` in every metadata call (getattr/lookup, a directory listing per started page of
1,000 names like an object store's list call, open, create, mkdir, unlink, rename, fsync ...),
in every read and in every write, as ossfs with ``max_stat_cache_size=0`` or a NAS does over the
network. The kernel keeps its usual one second of attribute and name caching (libfuse's
default, as ossfs does), so a fresh mount is a fresh pod. Calls run in parallel (libfuse's
multi-threaded loop; the sleep releases the GIL), like requests to a remote store. Measured
here: reads and lookups in different directories overlap, but the lookups of names in one
directory are served one at a time by this FUSE stack (libfuse 3.14's high-level API on Linux
6.18, with FUSE_CAP_PARALLEL_DIROPS asked for), so a flat directory costs one delay per file.

At unmount it writes STATS.json: per area of the tree (the first path component, with
``<first>/counts`` apart), the number of metadata calls that read (``meta_read``) and that change
the tree (``meta_write``), of read and write calls, and the bytes read and written. Standard
library plus the pinned FUSE binding mfusepy (requirements-dev.txt), which needs libfuse3
(Debian: ``apt-get install fuse3``).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
import threading
import time
from collections import defaultdict

import mfusepy

LIST_PAGE = 1000
FUSE_CAP_PARALLEL_DIROPS = 1 << 18  # libfuse 3's fuse_common.h
STAT_FIELDS = (
    "st_mode",
    "st_ino",
    "st_dev",
    "st_nlink",
    "st_uid",
    "st_gid",
    "st_size",
    "st_atime",
    "st_mtime",
    "st_ctime",
)
COUNTERS = ("meta_read", "meta_write", "reads", "read_bytes", "writes", "write_bytes")


def area(path: str) -> str:
    """Where a call lands: the first component of the path, or `<first>/counts`."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[1] == "counts":
        return f"{parts[0]}/counts"
    return parts[0] or "/"


def _type_bits(entry: os.DirEntry) -> int:
    if entry.is_symlink():
        return stat.S_IFLNK
    if entry.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    return stat.S_IFREG if entry.is_file(follow_symlinks=False) else 0


class LatencyFS(mfusepy.Operations):
    use_ns = True

    def __init__(self, source: str, delay: float) -> None:
        self.source = os.path.realpath(source)
        self.delay = delay
        self._guard = threading.Lock()
        self.stats: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    # --- bookkeeping ---------------------------------------------------------------------------

    def _wait(self, path: str, counter: str, calls: int = 1, size: int = 0) -> None:
        with self._guard:
            entry = self.stats[area(path)]
            entry[counter] += calls
            if counter in ("reads", "writes"):
                entry[counter.rstrip("s") + "_bytes"] += size
        if self.delay:
            time.sleep(self.delay * calls)

    def _full(self, path: str) -> str:
        return os.path.join(self.source, path.lstrip("/"))

    def _meta(self, path: str, action, *, changes: bool = False):
        self._wait(path, "meta_write" if changes else "meta_read")
        try:
            return action()
        except OSError as error:
            raise mfusepy.FuseOSError(error.errno or errno.EIO) from None

    def init_with_config(self, conn_info, config_3):
        # Let the kernel send lookups in one directory in parallel, as a network filesystem
        # client does; without it each directory's lookups queue behind one another.
        if conn_info and conn_info.capable & FUSE_CAP_PARALLEL_DIROPS:
            conn_info.want |= FUSE_CAP_PARALLEL_DIROPS

    # --- metadata ------------------------------------------------------------------------------

    def getattr(self, path, fh=None):
        info = self._meta(
            path, lambda: os.fstat(fh) if fh is not None else os.lstat(self._full(path))
        )
        attrs = {name: getattr(info, name) for name in STAT_FIELDS}
        for name in ("st_atime", "st_mtime", "st_ctime"):
            attrs[name] = getattr(info, name + "_ns")
        return attrs

    def readdir(self, path, fh):
        # With use_ino, an entry needs its inode number (0 hides it); the type comes free.
        try:
            with os.scandir(self._full(path)) as listing:
                names = [
                    (entry.name, {"st_ino": entry.inode(), "st_mode": _type_bits(entry)}, 0)
                    for entry in listing
                ]
        except OSError as error:
            raise mfusepy.FuseOSError(error.errno or errno.EIO) from None
        self._wait(path, "meta_read", calls=max(1, -(-len(names) // LIST_PAGE)))
        return [".", "..", *names]

    def readlink(self, path):
        return self._meta(path, lambda: os.readlink(self._full(path)))

    def access(self, path, amode):
        if not self._meta(path, lambda: os.access(self._full(path), amode)):
            raise mfusepy.FuseOSError(errno.EACCES)

    def statfs(self, path):
        info = self._meta(path, lambda: os.statvfs(self._full(path)))
        return {name: getattr(info, name) for name in dir(info) if name.startswith("f_")}

    def mkdir(self, path, mode):
        self._meta(path, lambda: os.mkdir(self._full(path), mode), changes=True)

    def rmdir(self, path):
        self._meta(path, lambda: os.rmdir(self._full(path)), changes=True)

    def unlink(self, path):
        self._meta(path, lambda: os.unlink(self._full(path)), changes=True)

    def rename(self, old, new):
        self._meta(new, lambda: os.rename(self._full(old), self._full(new)), changes=True)

    def symlink(self, target, source):
        self._meta(target, lambda: os.symlink(source, self._full(target)), changes=True)

    def link(self, target, source):
        self._meta(target, lambda: os.link(self._full(source), self._full(target)), changes=True)

    def chmod(self, path, mode):
        self._meta(path, lambda: os.chmod(self._full(path), mode), changes=True)

    def chown(self, path, uid, gid):
        self._meta(path, lambda: os.lchown(self._full(path), uid, gid), changes=True)

    def truncate(self, path, length, fh=None):
        self._meta(path, lambda: os.truncate(self._full(path), length), changes=True)

    def utimens(self, path, times=None):
        self._meta(path, lambda: os.utime(self._full(path), ns=times), changes=True)

    # --- files ---------------------------------------------------------------------------------

    def open(self, path, flags):
        return self._meta(path, lambda: os.open(self._full(path), flags))

    def create(self, path, mode, fi=None):
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        return self._meta(path, lambda: os.open(self._full(path), flags, mode), changes=True)

    def read(self, path, size, offset, fh):
        data = os.pread(fh, size, offset)
        self._wait(path, "reads", size=len(data))
        return data

    def write(self, path, data, offset, fh):
        self._wait(path, "writes", size=len(data))
        return os.pwrite(fh, data, offset)

    def fsync(self, path, datasync, fh):
        self._meta(path, lambda: os.fsync(fh), changes=True)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("mountpoint")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="per call (default: 5)")
    parser.add_argument("--threads", type=int, default=128, help="libfuse worker threads")
    parser.add_argument("--stats", required=True, help="where to write the counters at unmount")
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error(f"--delay-ms: {args.delay_ms} is negative; give 0 or more")
    filesystem = LatencyFS(args.source, args.delay_ms / 1000)
    try:
        mfusepy.FUSE(
            filesystem,
            args.mountpoint,
            foreground=True,
            nothreads=False,
            fsname="latencyfs",
            use_ino=True,  # the source's inode numbers: stable from one mount to the next
            max_threads=args.threads,
        )
    finally:
        with open(args.stats, "w", encoding="utf-8") as handle:
            json.dump(dict(filesystem.stats), handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
