"""Pure-Python parts of e2e/localcluster/images.py: the image table, apt mirror discovery,
debootstrap parameters, stamps and incremental rebuilds, atomic archives and error messages.

Nothing here needs root, network, debootstrap, umoci or skopeo: the builders and the packer are
replaced with fakes where a build is exercised.
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import sys

import pytest

from common.paths import REPO_ROOT

IMAGES_PY = REPO_ROOT / "e2e" / "localcluster" / "images.py"


@pytest.fixture(scope="module")
def images():
    spec = importlib.util.spec_from_file_location("localcluster_images", IMAGES_PY)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(mod)
    return mod


def test_image_table(images, tmp_path):
    assert {s: spec.name for s, spec in images.IMAGES.items()} == {
        "python": "localhost/argo-fanout/python:3.11-bookworm",
        "pause": "localhost/argo-fanout/pause:3.10-local",
        "argoexec": "localhost/argo-fanout/argoexec:v4.0.5",
    }
    assert images.tar_path(tmp_path, "pause") == tmp_path / "images" / "pause.tar"
    assert images.import_command(tmp_path, "python", address="/tmp/c.sock") == [
        "ctr",
        "--address",
        "/tmp/c.sock",
        "-n",
        "k8s.io",
        "images",
        "import",
        str(tmp_path / "images" / "python.tar"),
    ]
    cfg = {s: spec.config for s, spec in images.IMAGES.items()}
    assert cfg["pause"]["entrypoint"] == ["/pause"] and cfg["pause"]["user"] == "65535:65535"
    assert cfg["python"]["user"] == ""  # the pods set runAsUser
    assert cfg["argoexec"]["entrypoint"] == ["argoexec"]  # as in Argo's Dockerfile
    for spec in images.IMAGES.values():
        assert any(e.startswith("PATH=/usr/local/sbin:") for e in spec.config["env"])


def test_umoci_config_args(images):
    args = images.umoci_config_args(images.IMAGES["pause"])
    assert "--config.entrypoint=/pause" in args
    assert "--config.user=65535:65535" in args
    assert args[:3] == ["--clear=config.entrypoint", "--clear=config.cmd", "--clear=config.env"]


DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_debian_mirror_deb822(images, tmp_path):
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "aa-security.sources").write_text(DEB822.split("\n\n")[1])
    (d / "debian.sources").write_text(DEB822)
    (d / "google.list").write_text("deb https://packages.cloud.google.com/apt cloud main\n")
    assert images.debian_mirror("bookworm", [tmp_path / "none.list", d]) == (
        "http://deb.mirror.example/debian"
    )


def test_debian_mirror_one_line_and_none_found(images, tmp_path):
    f = tmp_path / "sources.list"
    f.write_text(
        "# comment\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n"
    )
    assert images.debian_mirror("bookworm", [f]) == "http://mirror.example/debian"
    with pytest.raises(images.ImageError, match="no apt source for Debian trixie"):
        images.debian_mirror("trixie", [f])
    with pytest.raises(images.ImageError, match="no apt source for Debian bookworm"):
        images.debian_mirror("bookworm", [tmp_path / "missing"])


def test_debian_mirror_skips_disabled_stanza(images, tmp_path):
    f = tmp_path / "x.sources"
    f.write_text("Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n")
    with pytest.raises(images.ImageError, match="no apt source"):
        images.debian_mirror("bookworm", [f])


def test_debootstrap_params_and_command(images, tmp_path):
    params = images.debootstrap_params(mirror="http://m.example/debian", arch="amd64")
    assert params["suite"] == "bookworm"
    assert params["variant"] == "minbase"
    assert params["include"] == ["python3-minimal", "python3"]
    cmd = images.debootstrap_command(params, tmp_path / "rootfs", tmp_path / "cache")
    assert cmd[0] == "debootstrap"
    assert "--variant=minbase" in cmd and "--include=python3-minimal,python3" in cmd
    assert f"--cache-dir={tmp_path / 'cache'}" in cmd
    assert cmd[-3:] == ["bookworm", str(tmp_path / "rootfs"), "http://m.example/debian"]


def test_inputs_digest(images):
    a = images.inputs_digest({"a": 1, "b": [1, 2], "c": {"x": "y", "z": 0}})
    b = images.inputs_digest({"c": {"z": 0, "x": "y"}, "b": [1, 2], "a": 1})
    assert a == b
    assert a != images.inputs_digest({"a": 1, "b": [2, 1], "c": {"x": "y", "z": 0}})
    p1 = images.debootstrap_params(mirror="http://a/debian", arch="amd64")
    p2 = dict(p1, mirror="http://b/debian")
    assert images.inputs_digest(p1) != images.inputs_digest(p2)


def test_stamp_status(images, tmp_path):
    tar = images.tar_path(tmp_path, "pause")
    stamp = images.stamp_path(tmp_path, "pause")
    assert images.stamp_status(tmp_path, "pause", "d1") == "missing"
    tar.parent.mkdir(parents=True)
    tar.write_bytes(b"archive")
    assert images.stamp_status(tmp_path, "pause", "d1") == "stale"  # no stamp
    assert images.stamp_status(tmp_path, "pause", None) == "unknown"
    name = images.IMAGES["pause"].name
    images.write_stamp(stamp, {"name": name, "inputs_digest": "d1", "size": 7})
    assert stat.S_IMODE(stamp.stat().st_mode) == 0o644
    assert images.stamp_status(tmp_path, "pause", "d1") == "up-to-date"
    assert images.stamp_status(tmp_path, "pause", "d2") == "stale"
    tar.write_bytes(b"truncated")  # another size than recorded
    assert images.stamp_status(tmp_path, "pause", "d1") == "stale"
    stamp.write_text("{not json")
    assert images.read_stamp(stamp) is None
    assert images.stamp_status(tmp_path, "pause", "d1") == "stale"


@pytest.fixture
def fake_build(images, monkeypatch):
    """Replace the pause image's builder and the packer with fakes; count the packs."""
    state = {"value": "v1", "packs": 0, "fail_stage": False, "fail_pack": False}

    def inputs(ctx):
        return {"value": state["value"]}

    def stage(ctx, inputs, work):
        if state["fail_stage"]:
            raise images.ImageError("stage broke")
        root = work / "rootfs"
        root.mkdir()
        (root / "f").write_text(inputs["value"])
        return root

    def pack(ctx, spec, rootfs, work, out):
        state["packs"] += 1
        out.write_text("partial")
        if state["fail_pack"]:
            raise images.ImageError("skopeo broke")
        out.write_text(f"{spec.name} {(rootfs / 'f').read_text()}")

    for short in images.IMAGES:
        monkeypatch.setitem(images.BUILDERS, short, (inputs, stage))
    monkeypatch.setattr(images, "PREPARE", {})
    monkeypatch.setattr(images, "pack", pack)
    return state


def _build(images, state_dir, lines, **kw):
    (result,) = images.build_images(state_dir, only=["pause"], log=lines.append, **kw)
    return result


def test_incremental_build(images, tmp_path, fake_build):
    lines: list[str] = []
    r = _build(images, tmp_path, lines)
    assert r.status == "built", r.error
    tar = images.tar_path(tmp_path, "pause")
    assert tar.read_text() == "localhost/argo-fanout/pause:3.10-local v1"
    assert any(ln.startswith("[image pause] built ") and ln.endswith("s)") for ln in lines)
    stamp = json.loads(images.stamp_path(tmp_path, "pause").read_text())
    assert stamp["inputs"]["value"] == "v1" and stamp["size"] == tar.stat().st_size

    assert _build(images, tmp_path, lines).status == "up-to-date"
    assert fake_build["packs"] == 1
    assert _build(images, tmp_path, lines, force=True).status == "built"
    assert fake_build["packs"] == 2

    fake_build["value"] = "v2"  # e.g. another binary
    assert _build(images, tmp_path, lines).status == "built"
    assert tar.read_text().endswith(" v2")
    # Another archive format is another input.
    assert _build(images, tmp_path, lines, fmt="docker-archive").status == "built"
    assert _build(images, tmp_path, lines, fmt="docker-archive").status == "up-to-date"
    leftovers = [p.name for p in images.images_dir(tmp_path).iterdir()]
    assert sorted(leftovers) == [".lock", "pause.stamp.json", "pause.tar"]


@pytest.mark.parametrize("where", ["fail_stage", "fail_pack"])
def test_failed_build_keeps_previous_archive(images, tmp_path, fake_build, where):
    lines: list[str] = []
    assert _build(images, tmp_path, lines).status == "built"
    tar = images.tar_path(tmp_path, "pause")
    before = tar.read_text()
    fake_build["value"] = "v2"
    fake_build[where] = True
    r = _build(images, tmp_path, lines)
    assert r.status == "failed" and "broke" in r.error
    assert lines[-1].startswith("[image pause] FAILED: ")
    assert tar.read_text() == before  # never a half-written archive under the final name
    names = sorted(p.name for p in images.images_dir(tmp_path).iterdir())
    assert names == [".lock", "pause.stamp.json", "pause.tar"]  # no temp tar, no work dir
    # The stamp still describes the old archive, so the next build retries.
    fake_build[where] = False
    assert _build(images, tmp_path, lines).status == "built"


def test_interrupted_build_leftovers_are_cleaned(images, tmp_path, fake_build):
    d = images.images_dir(tmp_path)
    (d / ".work" / "pause.123" / "rootfs").mkdir(parents=True)
    (d / ".pause.tar.tmp123").write_text("half")
    assert _build(images, tmp_path, []).status == "built"
    assert not (d / ".work").exists() and not (d / ".pause.tar.tmp123").exists()


def test_unknown_image_or_format(images, tmp_path):
    with pytest.raises(images.ImageError, match="unknown image nope: choose from python"):
        images.build_images(tmp_path, only=["nope"])
    with pytest.raises(images.ImageError, match="unknown format"):
        images.build_images(tmp_path, fmt="tarball")


def test_lock_is_exclusive(images, tmp_path):
    with (
        images.build_lock(tmp_path),
        pytest.raises(images.ImageError, match=r"another images\.py build holds"),
        images.build_lock(tmp_path),
    ):
        pass


def test_missing_tool_message(images, monkeypatch):
    monkeypatch.setenv("PATH", "")
    for tool, fix in (
        ("umoci", "apt-get install umoci"),
        ("skopeo", "apt-get install skopeo"),
        ("debootstrap", "apt-get install debootstrap"),
        ("go", "go.dev/dl"),
    ):
        with pytest.raises(images.ImageError) as e:
            images.require_tool(tool)
        assert str(e.value).startswith(f"{tool} not found on PATH: ")
        assert fix in str(e.value) and "\n" not in str(e.value)


def test_not_root_message(images, monkeypatch, tmp_path):
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)
    ctx = images.Context(state_dir=tmp_path, log=lambda m: None)
    inputs = {"debootstrap": images.debootstrap_params(mirror="http://m/debian", arch="amd64")}
    with pytest.raises(images.ImageError, match=r"^not root \(euid 1000\): debootstrap needs"):
        images.python_stage(ctx, inputs, tmp_path)


def test_missing_argoexec_message(images, monkeypatch, tmp_path):
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "mod"))
    ctx = images.Context(state_dir=tmp_path / "state", log=lambda m: None)
    with pytest.raises(images.ImageError) as e:
        images.argoexec_inputs(ctx)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'state' / 'bin' / 'argoexec'} missing")
    assert "make cluster" in msg and "e2e/localcluster/argo/build.sh" in msg


def test_missing_argo_module_message(images, monkeypatch, tmp_path):
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "mod"))
    ctx = images.Context(state_dir=tmp_path, log=lambda m: None)
    ctx.bin_dir.mkdir()
    (ctx.bin_dir / "argoexec").write_bytes(b"\x7fELF")
    with pytest.raises(images.ImageError, match=r"hack/nsswitch.conf missing .*go mod download"):
        images.argoexec_inputs(ctx)
    hack = tmp_path / "mod" / "github.com/argoproj/argo-workflows/v4@v4.0.5" / "hack"
    hack.mkdir(parents=True)
    (hack / "nsswitch.conf").write_text("hosts: files dns\n")
    (hack / "ssh_known_hosts").write_text("github.com ssh-ed25519 AAAA\n")
    monkeypatch.setattr(images, "MIME_TYPES", tmp_path / "no-mime.types")
    with pytest.raises(images.ImageError, match="apt-get install media-types"):
        images.argoexec_inputs(ctx)


def test_missing_pause_binary_message(images, tmp_path):
    ctx = images.Context(state_dir=tmp_path, log=lambda m: None)
    with pytest.raises(images.ImageError, match=r"bin/pause missing: build it with `cd e2e/"):
        images.pause_inputs(ctx)


def test_prune_rootfs(images, tmp_path):
    root = tmp_path / "rootfs"
    for d in (
        "usr/bin",
        "usr/share/doc/pkg",
        "usr/share/locale/de/LC_MESSAGES",
        "etc",
        "tmp",
        "var/lib/apt/lists",
        "var/cache/apt/archives",
        "dev",
    ):
        (root / d).mkdir(parents=True)
    (root / "usr/bin/python3").write_text("")
    (root / "usr/share/doc/pkg/copyright").write_text("")
    (root / "usr/share/locale/locale.alias").write_text("")
    (root / "var/lib/apt/lists/x_Packages").write_text("")
    (root / "var/cache/apt/pkgcache.bin").write_text("")
    (root / "etc/resolv.conf").write_text("nameserver 10.0.0.1\n")
    (root / "dev/null").write_text("")
    images.prune_rootfs(root)
    assert os.readlink(root / "usr/bin/python") == "python3"
    assert (root / "etc/resolv.conf").read_text() == ""
    assert (root / "etc/hostname").read_text() == ""
    assert (root / "usr/share/locale/locale.alias").exists()
    assert not (root / "usr/share/locale/de").exists()
    for d in ("usr/share/doc", "var/lib/apt/lists", "var/cache/apt", "dev"):
        assert list((root / d).iterdir()) == [], d
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777


def test_prune_rootfs_needs_python3(images, tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    with pytest.raises(images.ImageError, match="usr/bin/python3 missing"):
        images.prune_rootfs(tmp_path)


def test_safe_rmtree_plain_dir(images, tmp_path):
    d = tmp_path / "w" / "a"
    d.mkdir(parents=True)
    (d / "f").write_text("x")
    assert images.mounts_under(tmp_path / "w") == []
    images.safe_rmtree(tmp_path / "w")
    assert not (tmp_path / "w").exists()
    images.safe_rmtree(tmp_path / "w")  # absent: no error


def test_cli_list_on_empty_state(images, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GOMODCACHE", str(tmp_path / "mod"))
    assert images.main(["list", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for spec in images.IMAGES.values():
        assert spec.name in out
    assert "argoexec missing" in out  # the binary, named with how to build it
    assert not (tmp_path / "images").exists()  # list builds nothing


def test_pause_source_is_stdlib_only():
    src = (REPO_ROOT / "e2e/localcluster/k8s/pause/main.go").read_text()
    assert "package main" in src
    block = src.split("import (", 1)[1].split(")", 1)[0]
    imports = [ln.strip().strip('"') for ln in block.splitlines() if ln.strip()]
    assert imports and all("." not in imp.split("/")[0] for imp in imports), imports


def test_module_api_for_cluster_py(images, monkeypatch):
    assert images.STEP_IMAGE == "localhost/argo-fanout/python:3.11-bookworm"
    assert images.PAUSE_IMAGE == "localhost/argo-fanout/pause:3.10-local"
    assert images.EXECUTOR_IMAGE == "localhost/argo-fanout/argoexec:v4.0.5"
    monkeypatch.setenv("PATH", "")
    assert images.missing_tools() == [
        "debootstrap (apt-get install debootstrap)",
        "umoci (apt-get install umoci)",
        "skopeo (apt-get install skopeo)",
    ]


def test_build_all(images, tmp_path, fake_build):
    lines: list[str] = []
    archives = images.build_all(tmp_path, tmp_path / "elsewhere-bin", lines.append)
    assert archives == {
        spec.name: tmp_path / "images" / f"{short}.tar" for short, spec in images.IMAGES.items()
    }
    assert fake_build["packs"] == 3
    fake_build["value"] = "v2"
    fake_build["fail_pack"] = True
    with pytest.raises(images.ImageError) as e:
        images.build_all(tmp_path, None, lines.append)
    assert str(e.value).startswith("image python: skopeo broke; image pause: skopeo broke")
    assert fake_build["packs"] == 6  # one failure does not stop the other images
