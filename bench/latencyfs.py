"""A FUSE passthrough filesystem that makes every metadata call and every read a round trip.

    .venv/bin/python bench/latencyfs.py SOURCE MOUNTPOINT --delay-ms 5 --stats STATS.json \
        [--cache-seconds S] [--readdirplus]

Mounts SOURCE at MOUNTPOINT (in the foreground, until ``fusermount3 -u MOUNTPOINT``) and sleeps
``--delay-ms`` in every metadata call (getattr/lookup, a directory listing per started page of
1,000 names like an object store's list call, open, create, mkdir, unlink, rename, fsync ...),
in every read and in every write, as ossfs or a NAS does over the network. Two client models:

* default (ossfs 1.x with ``max_stat_cache_size=0``): no stat cache of its own, so every
  lookup the kernel sends is a round trip; the kernel keeps libfuse's default one second of
  entry and attribute caching (``--cache-seconds 1``), and a listing returns names only.
* ``--readdirplus --cache-seconds 60`` (ossfs 2.0's defaults: ``readdirplus=true``,
  ``attr_timeout=60``): a listing returns every entry's attributes with its names (one round
  trip per page, as before), and the kernel keeps them for 60 s, so the lookups of names just
  listed cost nothing.

A fresh mount is a fresh pod. Calls run in parallel like requests to a remote store: libfuse's
multi-threaded loop with ``--threads`` workers (default 128; see fuse_main_mt: libfuse 3.14's
fuse_main ignores ``-o max_threads`` and runs 10), and the sleep releases the GIL; the kernel
is asked for FUSE_CAP_PARALLEL_DIROPS. Measured here (Linux 6.18, libfuse 3.14, mfusepy 3.1.1):
lookups in different directories, opens and reads overlap up to the worker count, but the
kernel sends the lookups of names in one directory one at a time even with parallel dirops
granted (the workers stay idle: at most one lookup is ever in flight), so a flat directory of
N unlisted names costs N delays; the job spreads its count files over subdirectories for that
(logcount.counts_path).

At unmount it writes STATS.json: per area of the tree (the first path component, with
``<first>/counts`` apart), the number of metadata calls that read (``meta_read``) and that change
the tree (``meta_write``), of read and write calls, and the bytes read and written. Standard
library plus the pinned FUSE binding mfusepy (requirements-dev.txt), which needs libfuse3
(bench/install-deps.sh, or Debian: ``apt-get install fuse3``).
"""

from __future__ import annotations

import argparse
import ctypes
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
# libfuse 3's fuse_common.h
FUSE_CAP_READDIRPLUS = 1 << 13
FUSE_CAP_READDIRPLUS_AUTO = 1 << 14
FUSE_CAP_PARALLEL_DIROPS = 1 << 18
FUSE_READDIR_PLUS = 1  # the readdir call's flag: the kernel asks for attributes too
FUSE_FILL_DIR_PLUS = 1 << 1  # the filler's flag: this entry carries full attributes
DEFAULT_CACHE_SECONDS = 1.0  # libfuse's entry and attribute timeouts, which ossfs 1.x keeps
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

    def __init__(
        self,
        source: str,
        delay: float,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        readdirplus: bool = False,
    ) -> None:
        self.source = os.path.realpath(source)
        self.delay = delay
        self.cache_seconds = cache_seconds
        self.readdirplus = readdirplus
        self._next_handle = 0
        self._listings: dict[int, list[tuple[str, dict]]] = {}  # open directory -> entries
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
        if conn_info:
            # Names only, unless the model lists with attributes; then always (not "auto").
            conn_info.want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO)
            if self.readdirplus and conn_info.capable & FUSE_CAP_READDIRPLUS:
                conn_info.want |= FUSE_CAP_READDIRPLUS
        if config_3:
            config_3.entry_timeout = self.cache_seconds
            config_3.attr_timeout = self.cache_seconds
            config_3.negative_timeout = 0.0  # ossfs 1.x and 2.0 alike cache no "not found"

    # --- metadata ------------------------------------------------------------------------------

    def getattr(self, path, fh=None):
        info = self._meta(
            path, lambda: os.fstat(fh) if fh is not None else os.lstat(self._full(path))
        )
        return self._attrs(info)

    @staticmethod
    def _attrs(info: os.stat_result) -> dict:
        attrs = {name: getattr(info, name) for name in STAT_FIELDS}
        for name in ("st_atime", "st_mtime", "st_ctime"):
            attrs[name] = getattr(info, name + "_ns")
        return attrs

    def opendir(self, path):
        with self._guard:
            self._next_handle += 1
            return self._next_handle

    def releasedir(self, path, fh):
        with self._guard:
            self._listings.pop(fh, None)

    def listing(self, path: str, fh: int) -> list[tuple[str, dict]]:
        """The directory's entries with full attributes (readdirplus), listed once per open."""
        with self._guard:
            entries = self._listings.get(fh)
        if entries is not None:
            return entries
        try:
            with os.scandir(self._full(path)) as listing:
                entries = [
                    (entry.name, self._attrs(entry.stat(follow_symlinks=False)))
                    for entry in listing
                ]
            here = os.lstat(self._full(path))
            parent = os.lstat(os.path.dirname(self._full(path).rstrip("/")) or "/")
        except OSError as error:
            raise mfusepy.FuseOSError(error.errno or errno.EIO) from None
        self._wait(path, "meta_read", calls=max(1, -(-len(entries) // LIST_PAGE)))
        entries = [(".", self._attrs(here)), ("..", self._attrs(parent)), *entries]
        with self._guard:
            self._listings[fh] = entries
        return entries

    def readdir(self, path, fh):
        # With use_ino, an entry needs its inode number (0 hides it); the type comes free.
        # (A readdirplus listing goes through `listing` instead, see PlusFUSE.)
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


class PlusFUSE(mfusepy.FUSE):
    """mfusepy's FUSE, but readdir hands the kernel full attributes when it asks for them.

    mfusepy 3.1.1 fills only the mode and inode number and never sets FUSE_FILL_DIR_PLUS, so
    without this a readdirplus listing would not cache the entries' attributes.
    """

    def readdir_fuse_3(self, path, buf, filler, offset, fip, flags):
        if not flags & FUSE_READDIR_PLUS:
            return super().readdir_fuse_3(path, buf, filler, offset, fip, flags)
        # With offsets, so libfuse hands each entry and its attributes to the kernel at once
        # (libfuse 3.14 drops the attributes of entries given without an offset).
        entries = self.operations.listing(path.decode(self.encoding, self.errors), fip.contents.fh)
        for position in range(offset, len(entries)):
            name, attrs = entries[position]
            stat_buffer = mfusepy.c_stat()
            mfusepy.set_st_attrs(stat_buffer, attrs, use_ns=True)
            fill = FUSE_FILL_DIR_PLUS if "st_size" in attrs else 0
            encoded = name.encode(self.encoding, self.errors)
            if filler(buf, encoded, stat_buffer, position + 1, fill) != 0:
                break
        return 0


class _FuseArgs(ctypes.Structure):
    _fields_ = [
        ("argc", ctypes.c_int),
        ("argv", ctypes.POINTER(ctypes.c_char_p)),
        ("allocated", ctypes.c_int),
    ]


def fuse_main_mt(max_threads: int):
    """A stand-in for libfuse's fuse_main_real that runs the loop with `max_threads` workers.

    libfuse 3.14's fuse_main_real parses its command line with the 3.0 options struct, so
    ``-o max_threads`` never reaches the loop ("Ignoring invalid max threads value
    4294967295") and it serves at most 10 requests at a time. This does what fuse_main does
    (new, mount, signal handlers, multi-threaded loop, unmount, destroy) with the 3.12 loop
    configuration, which does take the worker count.
    """
    lib = mfusepy._libfuse
    lib.fuse_new_31.restype = ctypes.c_void_p
    lib.fuse_new_31.argtypes = [
        ctypes.POINTER(_FuseArgs),
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_void_p,
    ]
    lib.fuse_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.fuse_get_session.restype = ctypes.c_void_p
    lib.fuse_get_session.argtypes = [ctypes.c_void_p]
    lib.fuse_set_signal_handlers.argtypes = [ctypes.c_void_p]
    lib.fuse_remove_signal_handlers.argtypes = [ctypes.c_void_p]
    lib.fuse_loop_cfg_create.restype = ctypes.c_void_p
    lib.fuse_loop_cfg_set_max_threads.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.fuse_loop_cfg_set_idle_threads.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.fuse_loop_cfg_destroy.argtypes = [ctypes.c_void_p]
    lib.fuse_loop_mt_312.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.fuse_unmount.argtypes = [ctypes.c_void_p]
    lib.fuse_destroy.argtypes = [ctypes.c_void_p]

    def main(argc, argv, operations, operations_size, user_data) -> int:
        # mfusepy passes: program, its flags (-f, -s, -d), -o OPTIONS, mountpoint.
        given = [argv[index] for index in range(argc)]
        kept = [given[0], *(item for item in given[1:-1] if item not in (b"-f", b"-s", b"-d"))]
        args = _FuseArgs(len(kept), (ctypes.c_char_p * len(kept))(*kept), 0)
        fuse = lib.fuse_new_31(
            ctypes.byref(args), ctypes.cast(operations, ctypes.c_void_p), operations_size, None
        )
        if not fuse:
            return 1
        try:
            if lib.fuse_mount(fuse, given[-1]) != 0:
                return 1
            session = lib.fuse_get_session(fuse)
            lib.fuse_set_signal_handlers(session)
            config = lib.fuse_loop_cfg_create()
            lib.fuse_loop_cfg_set_max_threads(config, max_threads)
            lib.fuse_loop_cfg_set_idle_threads(config, max_threads)
            try:
                failed = lib.fuse_loop_mt_312(fuse, config)
            finally:
                lib.fuse_loop_cfg_destroy(config)
                lib.fuse_remove_signal_handlers(session)
                lib.fuse_unmount(fuse)
            return 1 if failed else 0
        finally:
            lib.fuse_destroy(fuse)

    return main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("mountpoint")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="per call (default: 5)")
    parser.add_argument("--threads", type=int, default=128, help="libfuse worker threads")
    parser.add_argument("--stats", required=True, help="where to write the counters at unmount")
    parser.add_argument(
        "--cache-seconds",
        type=float,
        default=DEFAULT_CACHE_SECONDS,
        help="the kernel's entry and attribute timeouts (default: %(default)s, libfuse's; "
        "ossfs 2.0's attr_timeout is 60)",
    )
    parser.add_argument(
        "--readdirplus",
        action="store_true",
        help="listings return every entry's attributes (ossfs 2.0's default readdirplus=true)",
    )
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error(f"--delay-ms: {args.delay_ms} is negative; give 0 or more")
    if args.cache_seconds < 0:
        parser.error(f"--cache-seconds: {args.cache_seconds} is negative; give 0 or more")
    if not 1 <= args.threads <= 100_000:
        parser.error(f"--threads: {args.threads} is out of range; give 1 to 100000 (libfuse's)")
    filesystem = LatencyFS(args.source, args.delay_ms / 1000, args.cache_seconds, args.readdirplus)
    mfusepy.fuse_main_real = fuse_main_mt(args.threads)  # FUSE() calls it by this name
    try:
        PlusFUSE(
            filesystem,
            args.mountpoint,
            foreground=True,
            nothreads=False,
            fsname="latencyfs",
            use_ino=True,  # the source's inode numbers: stable from one mount to the next
        )
    finally:
        with open(args.stats, "w", encoding="utf-8") as handle:
            json.dump(dict(filesystem.stats), handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
