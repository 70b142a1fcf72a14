#!/usr/bin/env bash
# Installs what the latency bench (bench/latencyfs.py, bench/scale.py, tests/bench) needs from
# Debian where it is missing: fuse3 (fusermount3) and libfuse3-3 (the library mfusepy loads).
# Idempotent: does nothing when both are there. Needs root and apt-get only when something is
# missing. Versions are not pinned: a Debian mirror keeps only its suite's current version, so a
# pin would break with the next point release; the installed versions are printed instead.
# .ci/run calls it where /dev/fuse exists and then sets ARGO_FANOUT_FUSE_REQUIRED=1, so the FUSE
# bench tests (tests/bench) fail rather than skip if FUSE is still unusable.
set -euo pipefail
if [ ! -c /dev/fuse ]; then
  echo "bench/install-deps: no /dev/fuse here: nothing can be mounted, so nothing to install" >&2
  exit 0
fi
packages=(fuse3 libfuse3-3)
missing=()
command -v fusermount3 >/dev/null || missing+=(fuse3)
# The library mfusepy opens by name (ctypes.util.find_library("fuse3") reads ldconfig's cache).
[[ $(ldconfig -p 2>/dev/null) == *libfuse3.so* ]] || missing+=(libfuse3-3)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "bench/install-deps: missing Debian packages: ${missing[*]} (apt-get install them as root)" >&2
    exit 1
  fi
  echo "bench/install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
dpkg-query -W -f='bench/install-deps: ${Package} ${Version}\n' "${packages[@]}" >&2
