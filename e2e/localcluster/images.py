#!/usr/bin/env python3
"""Container images for the local single-node cluster, built without any registry.

Three images, each written as an OCI archive that containerd 1.6 imports under its full name
(``ctr -n k8s.io images import <state>/images/<short>.tar``):

  python    localhost/argo-fanout/python:3.11-bookworm  the log-count steps' image: a Debian
            bookworm rootfs from ``debootstrap --variant=minbase --include=python3-minimal,python3``
            with ``python`` -> ``python3``, no default user (the pods run as uid 1000).
  pause     localhost/argo-fanout/pause:3.10-local  the pod sandbox image: the static stdlib Go
            port of Kubernetes' pause.c in e2e/localcluster/k8s/pause, as ``/pause``, user 65535.
  argoexec  localhost/argo-fanout/argoexec:v4.0.5  Argo's executor: ``<state>/bin/argoexec`` at
            ``/bin/argoexec`` plus what Argo's Dockerfile (stage ``argoexec``, on distroless
            static) gives it at run time: /etc/passwd and /etc/group (root, nobody, nonroot,
            argo 8737), CA certificates, /etc/mime.types, /etc/nsswitch.conf,
            /etc/ssh/ssh_known_hosts, /tmp; entrypoint ``argoexec``.

How: stage a root filesystem in a directory, ``umoci init/new/insert`` it into an OCI layout,
``umoci config`` the entrypoint/env/user, then ``skopeo copy oci:<layout>:<tag>
oci-archive:<tmp>:<name>`` (the index annotation ``org.opencontainers.image.ref.name`` carries
the full name, which ``ctr images import`` uses as the image name) and rename the temporary file
onto ``<state>/images/<short>.tar``. ``--format docker-archive`` writes a ``docker save`` style
archive instead (RepoTags; uncompressed layers, so about three times larger).

Incremental: ``<state>/images/<short>.stamp.json`` records the digest of the image's inputs
(debootstrap parameters and recipe for python, the binary's sha256 for pause and argoexec, plus
the image config); an image is rebuilt only when that digest changed or its archive is missing or
has another size than recorded. ``--force`` rebuilds anyway.

Usage (from the repository root; building needs root for debootstrap):

  python3 e2e/localcluster/images.py build --state-dir .localcluster [--only NAME ...] [--force]
  python3 e2e/localcluster/images.py list  --state-dir .localcluster

As a module (cluster.py): STEP_IMAGE / PAUSE_IMAGE / EXECUTOR_IMAGE, missing_tools(), and
build_all(state_dir, bin_dir, progress) -> {image name: archive}, raising ImageError (naming
each failed image, on one line) after trying every image. containerd 1.6 imports the archives
with ``ctr -n k8s.io images import <tar>``, which also unpacks them for the default (overlayfs)
snapshotter; ctr 1.6 has no ``images unpack`` command.

Standard-library Python 3.10+ only; needs debootstrap, umoci, skopeo and go on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_STATE_DIR = REPO_ROOT / ".localcluster"
K8S_MODULE_DIR = HERE / "k8s"
ARGO_MODULE_DIR = HERE / "argo"

ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"


def _required_version(go_mod: Path, module: str) -> str:
    """The version go.mod requires of module: go.mod is the one place a version is set."""
    for line in go_mod.read_text().splitlines():
        words = line.split("//")[0].split()
        if words[:1] == ["require"]:
            words = words[1:]
        if len(words) == 2 and words[0] == module:
            return words[1]
    raise SystemExit(f"{go_mod} requires no {module}")


ARGO_VERSION = _required_version(ARGO_MODULE_DIR / "go.mod", ARGO_MODULE)

FORMATS = ("oci-archive", "docker-archive")
DEFAULT_FORMAT = "oci-archive"

APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))

STD_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

TOOL_HINTS = {
    "debootstrap": "install it with `apt-get install debootstrap`",
    "umoci": "install it with `apt-get install umoci`",
    "skopeo": "install it with `apt-get install skopeo`",
    "go": "install Go >= 1.24 from https://go.dev/dl/ and put its bin/ on PATH",
    "dpkg": "this builder needs a Debian-based host (`dpkg --print-architecture`)",
}

ARGOEXEC_BUILD_HINT = (
    "build it with `python3 e2e/localcluster/cluster.py build` (part of `make cluster`), or "
    "`bash e2e/localcluster/argo/build.sh`"
)

# Bump an image's recipe number whenever its build steps change in a way its recorded inputs
# (parameters, binaries, config) do not capture, so the next build redoes it.
RECIPE = {"python": 1, "pause": 1, "argoexec": 1}


class ImageError(Exception):
    """A build cannot proceed; the message is one line naming what is missing and the fix."""


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    short: str
    name: str
    description: str
    config: dict  # entrypoint / cmd / env / user / labels for `umoci config`


IMAGES: dict[str, ImageSpec] = {
    spec.short: spec
    for spec in (
        ImageSpec(
            short="python",
            name="localhost/argo-fanout/python:3.11-bookworm",
            description="log-count step image (Debian bookworm minbase + python3)",
            config={
                "entrypoint": [],
                "cmd": ["python3"],
                "env": [STD_PATH, "LANG=C.UTF-8"],
                "user": "",
                "workingdir": "/",
            },
        ),
        ImageSpec(
            short="pause",
            name="localhost/argo-fanout/pause:3.10-local",
            description="pod sandbox image (static Go port of pause.c)",
            config={
                "entrypoint": ["/pause"],
                "cmd": [],
                "env": [STD_PATH],
                "user": "65535:65535",
                "workingdir": "/",
            },
        ),
        ImageSpec(
            short="argoexec",
            name=f"localhost/argo-fanout/argoexec:{ARGO_VERSION}",
            description=f"Argo Workflows {ARGO_VERSION} executor",
            config={
                "entrypoint": ["argoexec"],
                "cmd": [],
                "env": [STD_PATH, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
                "user": "",
                "workingdir": "/",
            },
        ),
    )
}


STEP_IMAGE = IMAGES["python"].name
PAUSE_IMAGE = IMAGES["pause"].name
EXECUTOR_IMAGE = IMAGES["argoexec"].name

# Debian tools the builds need: tool -> package.
DEBIAN_TOOLS = {"debootstrap": "debootstrap", "umoci": "umoci", "skopeo": "skopeo"}


def missing_tools() -> list[str]:
    """Each missing build tool as 'tool (apt-get install package)'; empty when all are there."""
    return [
        f"{tool} (apt-get install {package})"
        for tool, package in DEBIAN_TOOLS.items()
        if shutil.which(tool) is None
    ]


# ---------------------------------------------------------------------------------------------
# Paths, hashing, stamps


def images_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "images"


def tar_path(state_dir: Path, short: str) -> Path:
    return images_dir(state_dir) / f"{short}.tar"


def stamp_path(state_dir: Path, short: str) -> Path:
    return images_dir(state_dir) / f"{short}.stamp.json"


def import_command(state_dir: Path, short: str, address: str | None = None) -> list[str]:
    """The command that loads an image into the kubelet's containerd (namespace k8s.io)."""
    cmd = ["ctr"]
    if address:
        cmd += ["--address", address]
    return [*cmd, "-n", "k8s.io", "images", "import", str(tar_path(state_dir, short))]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_digest(inputs: dict) -> str:
    """Digest of an image's inputs, independent of key order."""
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_stamp(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_stamp(path: Path, stamp: dict) -> None:
    atomic_write_text(path, json.dumps(stamp, indent=2, sort_keys=True) + "\n")


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def stamp_status(state_dir: Path, short: str, digest: str | None) -> str:
    """'up-to-date', 'missing' (no archive), 'stale' (inputs or archive changed) or 'unknown'
    (inputs cannot be computed, digest None, and an archive exists)."""
    tar = tar_path(state_dir, short)
    if not tar.is_file():
        return "missing"
    if digest is None:
        return "unknown"
    stamp = read_stamp(stamp_path(state_dir, short))
    if (
        stamp is None
        or stamp.get("inputs_digest") != digest
        or stamp.get("name") != IMAGES[short].name
        or stamp.get("size") != tar.stat().st_size
    ):
        return "stale"
    return "up-to-date"


# ---------------------------------------------------------------------------------------------
# Tools and environment


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        hint = TOOL_HINTS.get(name, "install it and put it on PATH")
        raise ImageError(f"{name} not found on PATH: {hint}")
    return path


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        raise ImageError(
            f"not root (euid {os.geteuid()}): {why}; re-run as root, e.g. `sudo -E env "
            f'PATH="$PATH" python3 e2e/localcluster/images.py build`'
        )


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a command; on failure raise ImageError with the command and its last output line."""
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
    except FileNotFoundError as e:
        raise ImageError(f"{cmd[0]} not found: {TOOL_HINTS.get(cmd[0], e)}") from e
    if proc.returncode != 0:
        lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
        tail = lines[-1] if lines else "(no output)"
        raise ImageError(f"`{' '.join(cmd[:3])} ...` failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def parse_apt_sources(text: str, deb822: bool) -> list[tuple[str, list[str]]]:
    """(uri, suites) of each binary `deb` source in a sources.list or deb822 .sources text."""
    entries: list[tuple[str, list[str]]] = []
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            suites = fields.get("suites", "").split()
            entries += [(uri, suites) for uri in fields.get("uris", "").split()]
        return entries
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        words = re.sub(r"\[[^\]]*\]", " ", line).split()  # drop "[arch=amd64 signed-by=...]"
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], [words[2]]))
    return entries


def debian_mirror(suite: str = "bookworm", sources: Iterable[Path] = APT_SOURCES) -> str:
    """The Debian mirror this machine's apt uses for `suite` (not -updates/-security)."""
    files: list[Path] = []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix in (".list", ".sources"))
        elif src.is_file():
            files.append(src)
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for uri, suites in parse_apt_sources(text, deb822=f.suffix == ".sources"):
            if suite in suites and uri.startswith(("http://", "https://")):
                return uri.rstrip("/")
    raise ImageError(
        f"no apt source for Debian {suite} in {', '.join(map(str, sources))}: the step image is "
        "debootstrapped from the mirror apt uses (add one to /etc/apt/sources.list.d/)"
    )


def host_arch() -> str:
    return run([require_tool("dpkg"), "--print-architecture"]).strip()


# ---------------------------------------------------------------------------------------------
# Build context


@dataclasses.dataclass
class Context:
    state_dir: Path
    fmt: str = DEFAULT_FORMAT
    log: Callable[[str], None] = print
    bin: Path | None = None  # where pause/argoexec are; default <state_dir>/bin
    # Set by the build for the image being built, for progress lines.
    t0: float = 0.0
    short: str = ""

    @property
    def bin_dir(self) -> Path:
        return Path(self.bin) if self.bin is not None else self.state_dir / "bin"

    def progress(self, msg: str) -> None:
        self.log(f"[image {self.short}] {msg} ({time.monotonic() - self.t0:.1f}s)")


# -- python (step image) -----------------------------------------------------------------------

PYTHON_SUITE = "bookworm"
PYTHON_VARIANT = "minbase"
PYTHON_INCLUDE = ("python3-minimal", "python3")
# Removed from the rootfs after debootstrap (relative globs): package caches, indexes, docs,
# logs, translations and the device nodes/host files debootstrap leaves behind.
PYTHON_PRUNE = (
    "var/cache/apt/*",
    "var/lib/apt/lists/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/log/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/lintian/*",
    "usr/share/locale/*/",
    "dev/*",
    "run/*",
    "tmp/*",
    "var/tmp/*",
    "debootstrap",
)
# Host-specific files debootstrap copied or generated; truncated so the image leaks nothing
# (the runtime bind-mounts its own resolv.conf/hostname/hosts).
PYTHON_EMPTY = ("etc/resolv.conf", "etc/hostname", "etc/machine-id")


def debootstrap_params(mirror: str | None = None, arch: str | None = None) -> dict:
    return {
        "suite": PYTHON_SUITE,
        "variant": PYTHON_VARIANT,
        "include": list(PYTHON_INCLUDE),
        "components": ["main"],
        "mirror": mirror or debian_mirror(PYTHON_SUITE),
        "arch": arch or host_arch(),
    }


def debootstrap_command(params: dict, target: Path, cache_dir: Path) -> list[str]:
    return [
        "debootstrap",
        f"--variant={params['variant']}",
        f"--include={','.join(params['include'])}",
        f"--components={','.join(params['components'])}",
        f"--arch={params['arch']}",
        f"--cache-dir={cache_dir}",
        params["suite"],
        str(target),
        params["mirror"],
    ]


def python_inputs(ctx: Context) -> dict:
    return {
        "debootstrap": debootstrap_params(),
        "prune": list(PYTHON_PRUNE),
        "empty": list(PYTHON_EMPTY),
    }


def python_stage(ctx: Context, inputs: dict, work: Path) -> Path:
    require_root("debootstrap needs root to chroot and install packages")
    require_tool("debootstrap")
    params = inputs["debootstrap"]
    rootfs = work / "rootfs"
    cache = images_dir(ctx.state_dir) / "cache" / "debootstrap"
    cache.mkdir(parents=True, exist_ok=True)
    ctx.progress(
        f"debootstrap {params['suite']} ({params['variant']}, +{','.join(params['include'])}) "
        f"from {params['mirror']}"
    )
    try:
        run(debootstrap_command(params, rootfs, cache.resolve()))
    except ImageError as e:
        # The work dir goes away with the failed build; keep debootstrap's own log.
        log = rootfs / "debootstrap" / "debootstrap.log"
        kept = images_dir(ctx.state_dir) / "python.debootstrap.log"
        if log.is_file():
            shutil.copyfile(log, kept)
            raise ImageError(f"{e} (debootstrap's log: {kept})") from None
        raise
    finally:
        umount_under(rootfs)
    left = mounts_under(rootfs)
    if left:  # never prune or pack through a bind mount of the host's /dev, /proc or /sys
        raise ImageError(f"{rootfs} still has mounts after debootstrap: {', '.join(left)}")
    ctx.progress("debootstrap done; pruning caches and docs")
    prune_rootfs(rootfs)
    return rootfs


def prune_rootfs(rootfs: Path) -> None:
    if not (rootfs / "usr/bin/python3").exists():
        raise ImageError(f"{rootfs}/usr/bin/python3 missing after debootstrap")
    for pattern in PYTHON_PRUNE:
        for p in rootfs.glob(pattern.rstrip("/")):
            if pattern.endswith("/") and not p.is_dir():
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    for rel in PYTHON_EMPTY:
        p = rootfs / rel
        if p.exists() or p.is_symlink():
            p.unlink()
        p.write_text("")
    python = rootfs / "usr/bin/python"
    if not (python.exists() or python.is_symlink()):
        python.symlink_to("python3")
    os.chmod(rootfs / "tmp", 0o1777)


# -- pause ---------------------------------------------------------------------------------------


def pause_binary(ctx: Context) -> Path:
    return ctx.bin_dir / "pause"


def build_pause_binary(ctx: Context) -> Path:
    """`go build` the pause program (fast when nothing changed; the output is reproducible)."""
    out = pause_binary(ctx)
    if shutil.which("go") is None:
        if out.is_file():
            ctx.log(f"[image pause] go not on PATH; using the existing {out}")
            return out
        require_tool("go")
    if not (K8S_MODULE_DIR / "pause" / "main.go").is_file():
        raise ImageError(f"{K8S_MODULE_DIR / 'pause' / 'main.go'} missing (restore it from git)")
    out.parent.mkdir(parents=True, exist_ok=True)
    ctx.progress(f"go build ./pause -> {out}")
    env = {**os.environ, "CGO_ENABLED": "0"}
    run(
        ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out.resolve()), "./pause"],
        cwd=K8S_MODULE_DIR,
        env=env,
    )
    return out


def pause_inputs(ctx: Context) -> dict:
    binary = pause_binary(ctx)
    if not binary.is_file():
        raise ImageError(
            f"{binary} missing: build it with `cd e2e/localcluster/k8s && CGO_ENABLED=0 go build "
            f"-trimpath -ldflags '-s -w' -o {binary.resolve()} ./pause` (`images.py build` does)"
        )
    return {"pause_sha256": file_sha256(binary)}


def pause_stage(ctx: Context, inputs: dict, work: Path) -> Path:
    root = work / "rootfs"
    root.mkdir()
    shutil.copy2(pause_binary(ctx), root / "pause")
    os.chmod(root / "pause", 0o755)
    if file_sha256(root / "pause") != inputs["pause_sha256"]:
        raise ImageError(f"{pause_binary(ctx)} changed during the build; run the build again")
    return root


# -- argoexec ------------------------------------------------------------------------------------

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MIME_TYPES = Path("/etc/mime.types")

# distroless/static's accounts plus Argo's non-root uid 8737 (argoexec-nonroot, the controller).
ARGOEXEC_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    "argo:x:8737:8737:argo:/home/argo:/sbin/nologin\n"
)
ARGOEXEC_GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\nargo:x:8737:\ntty:x:5:\n"


def argoexec_binary(ctx: Context) -> Path:
    return ctx.bin_dir / "argoexec"


def go_mod_cache() -> Path:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    if shutil.which("go"):
        with contextlib.suppress(ImageError):
            out = run(["go", "env", "GOMODCACHE"]).strip()
            if out:
                return Path(out)
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    return Path(gopath.split(os.pathsep)[0]) / "pkg" / "mod"


def argo_module_dir() -> Path:
    return go_mod_cache() / f"{ARGO_MODULE}@{ARGO_VERSION}"


def argoexec_files(ctx: Context) -> dict[str, Path]:
    """Image path -> host source of every file copied into the executor image."""
    mod = argo_module_dir()
    files = {
        "bin/argoexec": argoexec_binary(ctx),
        "etc/nsswitch.conf": mod / "hack" / "nsswitch.conf",
        "etc/ssh/ssh_known_hosts": mod / "hack" / "ssh_known_hosts",
        "etc/ssl/certs/ca-certificates.crt": CA_BUNDLE,
        "etc/mime.types": MIME_TYPES,
    }
    hints = {
        "bin/argoexec": ARGOEXEC_BUILD_HINT,
        "etc/nsswitch.conf": (
            f"download the Argo module with `cd e2e/localcluster/argo && go mod download "
            f"{ARGO_MODULE}` (or `go mod download {ARGO_MODULE}@{ARGO_VERSION}` in any module)"
        ),
        "etc/ssl/certs/ca-certificates.crt": "install it with `apt-get install ca-certificates`",
        "etc/mime.types": "install it with `apt-get install media-types`",
    }
    hints["etc/ssh/ssh_known_hosts"] = hints["etc/nsswitch.conf"]
    for rel, src in files.items():
        if not src.is_file():
            raise ImageError(f"{src} missing (for {rel} in the argoexec image): {hints[rel]}")
    return files


def argoexec_inputs(ctx: Context) -> dict:
    files = argoexec_files(ctx)
    return {
        "files": {rel: file_sha256(src) for rel, src in files.items()},
        "passwd": ARGOEXEC_PASSWD,
        "group": ARGOEXEC_GROUP,
    }


def argoexec_stage(ctx: Context, inputs: dict, work: Path) -> Path:
    root = work / "rootfs"
    for d, mode in (
        ("bin", 0o755),
        ("etc/ssh", 0o755),
        ("etc/ssl/certs", 0o755),
        ("root", 0o700),
        ("home/nonroot", 0o700),
        ("home/argo", 0o700),
        ("tmp", 0o1777),
    ):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, mode)
    for rel, src in argoexec_files(ctx).items():
        shutil.copyfile(src, root / rel)
        os.chmod(root / rel, 0o755 if rel.startswith("bin/") else 0o644)
        if file_sha256(root / rel) != inputs["files"][rel]:
            raise ImageError(f"{src} changed during the build; run the build again")
    (root / "etc/passwd").write_text(inputs["passwd"])
    (root / "etc/group").write_text(inputs["group"])
    if os.geteuid() == 0:
        for d, uid in (("home/nonroot", 65532), ("home/argo", 8737)):
            os.chown(root / d, uid, uid)
    return root


BUILDERS: dict[str, tuple[Callable[[Context], dict], Callable[[Context, dict, Path], Path]]] = {
    "python": (python_inputs, python_stage),
    "pause": (pause_inputs, pause_stage),
    "argoexec": (argoexec_inputs, argoexec_stage),
}
# Run before computing an image's inputs during `build` (not `list`).
PREPARE: dict[str, Callable[[Context], object]] = {"pause": build_pause_binary}


# ---------------------------------------------------------------------------------------------
# Packing: rootfs dir -> OCI layout (umoci) -> archive (skopeo)


def umoci_config_args(spec: ImageSpec) -> list[str]:
    c = spec.config
    args = ["--clear=config.entrypoint", "--clear=config.cmd", "--clear=config.env"]
    args += [f"--config.entrypoint={a}" for a in c["entrypoint"]]
    args += [f"--config.cmd={a}" for a in c["cmd"]]
    args += [f"--config.env={e}" for e in c["env"]]
    args += [f"--config.user={c['user']}", f"--config.workingdir={c['workingdir']}"]
    args += [
        f"--config.label=org.opencontainers.image.title={spec.name}",
        f"--config.label=org.opencontainers.image.description={spec.description}",
        "--config.label=org.opencontainers.image.source=argo-fanout/e2e/localcluster/images.py",
        "--author=argo-fanout e2e/localcluster/images.py",
    ]
    return args


def pack(ctx: Context, spec: ImageSpec, rootfs: Path, work: Path, out: Path) -> None:
    umoci = require_tool("umoci")
    skopeo = require_tool("skopeo")
    layout = work / "oci"
    ref = f"{layout}:build"
    run([umoci, "init", "--layout", str(layout)])
    run([umoci, "new", "--image", ref])
    ctx.progress("umoci insert (one layer)")
    run(
        [
            umoci,
            "insert",
            "--history.created_by",
            f"images.py {spec.short}",
            "--image",
            ref,
            str(rootfs),
            "/",
        ]
    )
    run([umoci, "config", "--image", ref, *umoci_config_args(spec)])
    ctx.progress(f"skopeo copy -> {ctx.fmt}")
    run([skopeo, "copy", "--quiet", f"oci:{ref}", f"{ctx.fmt}:{out}:{spec.name}"])


# ---------------------------------------------------------------------------------------------
# Mount safety for work dirs (debootstrap mounts /proc and /sys, and binds /dev in containers)


def mounts_under(path: Path) -> list[str]:
    base = os.path.realpath(path)
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        mnt = fields[4].encode().decode("unicode_escape")
        if mnt == base or mnt.startswith(base + "/"):
            found.append(mnt)
    return found


def umount_under(path: Path) -> None:
    for _ in range(5):
        mounts = mounts_under(path)
        if not mounts:
            return
        for mnt in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mnt], check=False, capture_output=True)


def safe_rmtree(path: Path) -> None:
    """rmtree that first detaches every mount below `path`, and refuses if one stays."""
    path = Path(path)
    if not path.exists():
        return
    umount_under(path)
    left = mounts_under(path)
    if left:
        raise ImageError(f"cannot remove {path}: still mounted: {', '.join(left)}")
    shutil.rmtree(path)


# ---------------------------------------------------------------------------------------------
# Orchestration


@dataclasses.dataclass
class Result:
    short: str
    name: str
    status: str  # built | up-to-date | failed
    seconds: float
    tar: Path
    size: int = 0
    error: str = ""


@contextlib.contextmanager
def build_lock(state_dir: Path):
    d = images_dir(state_dir)
    try:
        d.mkdir(parents=True, exist_ok=True)
        f = open(d / ".lock", "w")  # noqa: SIM115 (closed below)
    except OSError as e:
        raise ImageError(
            f"cannot write {d}: {e.strerror} (euid {os.geteuid()}; run as root or pass a "
            "writable --state-dir)"
        ) from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImageError(f"another images.py build holds {d / '.lock'}; wait for it") from None
        yield


def clean_leftovers(state_dir: Path) -> None:
    """Remove work dirs and temporary archives of interrupted builds (called under the lock)."""
    d = images_dir(state_dir)
    safe_rmtree(d / ".work")
    for p in d.glob(".*.tar.tmp*"):
        p.unlink()


def build_one(ctx: Context, short: str, force: bool = False) -> Result:
    spec = IMAGES[short]
    ctx.short, ctx.t0 = short, time.monotonic()
    tar = tar_path(ctx.state_dir, short)
    try:
        if short in PREPARE:
            PREPARE[short](ctx)
        inputs_fn, stage_fn = BUILDERS[short]
        inputs = {
            "image": spec.name,
            "config": spec.config,
            "recipe": RECIPE[short],
            "format": ctx.fmt,
            **inputs_fn(ctx),
        }
        digest = inputs_digest(inputs)
        if not force and stamp_status(ctx.state_dir, short, digest) == "up-to-date":
            ctx.progress(f"{spec.name} up to date ({tar})")
            return Result(
                short, spec.name, "up-to-date", time.monotonic() - ctx.t0, tar, tar.stat().st_size
            )
        ctx.progress(f"building {spec.name}")
        work = images_dir(ctx.state_dir) / ".work" / f"{short}.{os.getpid()}"
        tmp = tar.with_name(f".{tar.name}.tmp{os.getpid()}")
        safe_rmtree(work)
        work.mkdir(parents=True)
        try:
            rootfs = stage_fn(ctx, inputs, work)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            pack(ctx, spec, rootfs, work, tmp)
            os.replace(tmp, tar)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            safe_rmtree(work)
            with contextlib.suppress(OSError):
                work.parent.rmdir()  # only when empty
        size = tar.stat().st_size
        write_stamp(
            stamp_path(ctx.state_dir, short),
            {
                "name": spec.name,
                "inputs_digest": digest,
                "inputs": inputs,
                "size": size,
                "tar_sha256": file_sha256(tar),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )
        secs = time.monotonic() - ctx.t0
        ctx.progress(f"built {spec.name} -> {tar} ({size / 1e6:.1f} MB)")
        return Result(short, spec.name, "built", secs, tar, size)
    except (ImageError, OSError) as e:
        ctx.log(f"[image {short}] FAILED: {e}")
        return Result(short, spec.name, "failed", time.monotonic() - ctx.t0, tar, error=str(e))


def build_images(
    state_dir: Path,
    only: Iterable[str] | None = None,
    force: bool = False,
    fmt: str = DEFAULT_FORMAT,
    log: Callable[[str], None] = print,
    bin_dir: Path | None = None,
) -> list[Result]:
    """Build (or skip, when up to date) the requested images; one Result per image.

    A failing image does not stop the others; check each Result's status."""
    names = list(only) if only else list(IMAGES)
    unknown = [n for n in names if n not in IMAGES]
    if unknown:
        raise ImageError(f"unknown image {', '.join(unknown)}: choose from {', '.join(IMAGES)}")
    if fmt not in FORMATS:
        raise ImageError(f"unknown format {fmt}: choose from {', '.join(FORMATS)}")
    ctx = Context(state_dir=Path(state_dir), fmt=fmt, log=log, bin=bin_dir)
    with build_lock(ctx.state_dir):
        clean_leftovers(ctx.state_dir)
        return [build_one(ctx, n, force=force) for n in names]


def build_all(
    state_dir: Path, bin_dir: Path | None = None, progress: Callable[[str], None] = print
) -> dict[str, Path]:
    """Build every image that is missing or out of date: {image name: archive to import}.

    Raises ImageError naming every image that failed, after trying all of them."""
    results = build_images(state_dir, bin_dir=bin_dir, log=progress)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ImageError("; ".join(f"image {r.short}: {r.error}" for r in failed))
    return {r.name: r.tar for r in results}


def image_status(state_dir: Path, short: str) -> tuple[str, str]:
    """(status, detail) without building anything: binaries are hashed as they are now."""
    stamp = read_stamp(stamp_path(state_dir, short))
    fmt = (stamp or {}).get("inputs", {}).get("format", DEFAULT_FORMAT)
    ctx = Context(state_dir=Path(state_dir), fmt=fmt, log=lambda _m: None)
    spec = IMAGES[short]
    try:
        inputs = {
            "image": spec.name,
            "config": spec.config,
            "recipe": RECIPE[short],
            "format": fmt,
            **BUILDERS[short][0](ctx),
        }
        digest: str | None = inputs_digest(inputs)
        detail = ""
    except ImageError as e:
        digest, detail = None, str(e)
    return stamp_status(state_dir, short, digest), detail


# ---------------------------------------------------------------------------------------------
# CLI


def cmd_build(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    results = build_images(args.state_dir, args.only, args.force, args.format)
    failed = [r for r in results if r.status == "failed"]
    print(
        f"images: {len(results) - len(failed)}/{len(results)} ready ({time.monotonic() - t0:.1f}s)"
    )
    for r in results:
        if r.status != "failed":
            print(f"  import: {' '.join(import_command(args.state_dir, r.short))}")
    for r in failed:
        print(f"error: image {r.short} ({r.name}): {r.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    for short, spec in IMAGES.items():
        status, detail = image_status(args.state_dir, short)
        tar = tar_path(args.state_dir, short)
        size = f"{tar.stat().st_size / 1e6:.1f}MB" if tar.is_file() else "-"
        print(f"{short:<9} {spec.name:<44} {status:<10} {size:>8}  {tar}")
        if detail:
            print(f"{'':<9} ({detail})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="images.py", description="Build the local cluster's images as importable archives."
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("build", "build the images that are missing or out of date"),
        ("list", "show each image's name, archive and status"),
    ):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument(
            "--state-dir",
            type=Path,
            default=DEFAULT_STATE_DIR,
            help="cluster state dir (default: %(default)s); archives in <dir>/images",
        )
        if name == "build":
            sp.add_argument(
                "--only",
                action="append",
                choices=list(IMAGES),
                help="build only this image (repeatable)",
            )
            sp.add_argument("--force", action="store_true", help="rebuild even if up to date")
            sp.add_argument(
                "--format",
                choices=FORMATS,
                default=DEFAULT_FORMAT,
                help="archive format (default: %(default)s)",
            )
    args = p.parse_args(argv)
    args.state_dir = args.state_dir.absolute()
    try:
        return cmd_build(args) if args.command == "build" else cmd_list(args)
    except (ImageError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
