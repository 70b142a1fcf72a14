"""Volumes, path rewriting, input placement and progress output of the local runner."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest

from tests.support import unprivileged
from workflows.runlocal import local, pods
from workflows.runlocal.engine import RunError, WorkflowRun
from workflows.runlocal.progress import BarReporter, LineReporter, Reporter, reporter_for


def prepare(tmp_path: Path, container: dict, volumes: list[dict], **template) -> pods.Launch:
    config_maps = pods.write_config_maps(
        {"code": {"data": {"job.py": "print('hi')\n", "lib.py": ""}}}, tmp_path / "configmaps"
    )
    known = pods.Volumes(claims={"claim": tmp_path / "volume"}, config_maps=config_maps)
    known.check(volumes, "spec.volumes")
    marked = pods.mark_paths({"name": "t", "container": container, **template})
    return pods.prepare(marked, volumes, known, tmp_path / "pod", "py")


VOLUMES = [
    {"name": "data", "persistentVolumeClaim": {"claimName": "claim"}},
    {"name": "code", "configMap": {"name": "code"}},
    {"name": "tmp", "emptyDir": {}},
]
MOUNTS = [
    {"name": "data", "mountPath": "/data"},
    {"name": "code", "mountPath": "/opt/code"},
    {"name": "tmp", "mountPath": "/tmp"},
]


def test_paths_under_a_mount_are_rewritten_as_whole_components(tmp_path):
    container = {
        "command": ["python", "/opt/code/job.py"],
        "args": ["--in=/data/x y", "/database", "/x/data", "/data", "a:/data/b", "/tmp/s"],
        "env": [{"name": "OUT", "value": "/data/out"}],
        "workingDir": "/data",
        "volumeMounts": MOUNTS,
    }
    outputs = {"parameters": [{"name": "r", "valueFrom": {"path": "/data/r.json"}}]}
    launch = prepare(tmp_path, container, VOLUMES, outputs=outputs)
    volume, tmp = tmp_path / "volume", tmp_path / "pod" / "volumes" / "tmp"
    assert launch.argv == [
        "py",
        str(tmp_path / "configmaps" / "code" / "job.py"),
        f"--in={volume}/x y",
        "/database",
        "/x/data",
        str(volume),
        f"a:{volume}/b",
        f"{tmp}/s",
    ]
    assert launch.env == {
        "PATH": launch.env["PATH"],
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "OUT": f"{volume}/out",
    }
    assert launch.cwd == volume
    assert launch.output_paths == {"r": volume / "r.json"}
    assert tmp.is_dir()


def test_config_map_items_project_only_the_listed_keys(tmp_path):
    volumes = [
        {
            "name": "code",
            "configMap": {"name": "code", "items": [{"key": "job.py", "path": "bin/run.py"}]},
        }
    ]
    container = {
        "command": ["python", "/opt/code/bin/run.py"],
        "volumeMounts": [{"name": "code", "mountPath": "/opt/code"}],
    }
    launch = prepare(tmp_path, container, volumes)
    projected = Path(launch.argv[1])
    assert projected.read_text() == "print('hi')\n"
    assert sorted(path.name for path in projected.parent.parent.rglob("*.py")) == ["run.py"]


def modes(root: Path) -> set[tuple[str, int]]:
    """(kind, permission bits) of root and everything below it."""
    found = {("dir", root.stat().st_mode & 0o777)}
    for path in root.rglob("*"):
        found.add(("dir" if path.is_dir() else "file", path.stat().st_mode & 0o777))
    return found


def test_config_map_and_read_only_mounts_are_read_only(tmp_path):
    volumes = [*VOLUMES, {"name": "scratch", "emptyDir": {}}]
    mounts = [*MOUNTS, {"name": "scratch", "mountPath": "/scratch", "readOnly": True}]
    (tmp_path / "volume").mkdir()
    launch = prepare(tmp_path, {"command": ["python"], "volumeMounts": mounts}, volumes)
    code = tmp_path / "configmaps" / "code"
    assert modes(code) == {("dir", 0o555), ("file", 0o444)}
    assert modes(tmp_path / "pod" / "volumes" / "scratch") == {("dir", 0o555)}
    # Writable mounts stay as they are.
    assert modes(tmp_path / "volume") == {("dir", 0o755)}
    assert Path(launch.env["TMPDIR"]).stat().st_mode & 0o200
    pods.remove_tree(tmp_path / "pod")
    pods.remove_tree(tmp_path / "configmaps")
    assert not (tmp_path / "pod").exists() and not (tmp_path / "configmaps").exists()


def test_projected_config_map_items_are_read_only(tmp_path):
    volumes = [
        {
            "name": "code",
            "configMap": {"name": "code", "items": [{"key": "job.py", "path": "bin/run.py"}]},
        }
    ]
    container = {
        "command": ["python"],
        "volumeMounts": [{"name": "code", "mountPath": "/opt/code"}],
    }
    prepare(tmp_path, container, volumes)
    assert modes(tmp_path / "pod" / "volumes" / "code") == {("dir", 0o555), ("file", 0o444)}


def test_a_step_writing_beside_its_script_fails_as_on_a_cluster():
    writer = {
        "name": "writer",
        "container": {
            "image": "python:3.12-slim",
            "command": ["python", "-c", "open('/opt/code/cache.txt', 'w').write('x')"],
            "volumeMounts": [{"name": "code", "mountPath": "/opt/code", "readOnly": True}],
        },
    }
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "ro"},
        "spec": {
            "entrypoint": "writer",
            "volumes": [{"name": "code", "configMap": {"name": "code"}}],
            "templates": [writer],
        },
    }
    # Not under tmp_path: as root, the step runs as nobody, who cannot enter pytest's 0700 base.
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        scratch_path.chmod(0o755)
        cm = pods.write_config_maps({"code": {"data": {"job.py": ""}}}, scratch_path / "cm")
        unprivileged.hand_over(scratch_path / "cm")
        result = WorkflowRun(
            template,
            name="ro-abcde",
            parameters={},
            volumes=pods.Volumes(claims={}, config_maps=cm),
            state_dir=scratch_path / "state",
            jobs=1,
            reporter=Reporter(io.StringIO()),
            python=unprivileged.python_executable(scratch_path),
        ).run()
        assert result.phase.value == "Failed"
        assert "Permission denied" in result.failed[0].stderr_path.read_text()
        assert not (scratch_path / "cm" / "code" / "cache.txt").exists()


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "d", "persistentVolumeClaim": {"claimName": "other"}},
            "claim 'other' has no local directory",
        ),
        (
            {"name": "c", "configMap": {"name": "nope"}},
            "ConfigMap 'nope' is not among the rendered objects",
        ),
        (
            {"name": "c", "configMap": {"name": "code", "items": [{"key": "x", "path": "x"}]}},
            "has no key 'x'",
        ),
    ],
)
def test_unknown_volume_sources_are_errors(tmp_path, volume, message):
    with pytest.raises(pods.VolumeError, match=message):
        prepare(tmp_path, {"command": ["python"]}, [volume])


def test_input_file_is_copied_into_a_new_stage(tmp_path):
    source = tmp_path / "app.log"
    source.write_text("INFO x\n")
    relative = local.place_input(source, tmp_path / "volume")
    assert re.fullmatch(r"inputs/\d{8}T\d{6}Z-[0-9a-f]{12}/app\.log", relative)
    staged = tmp_path / "volume" / relative
    assert staged.read_text() == "INFO x\n"
    assert staged.stat().st_ino != source.stat().st_ino


def test_a_stage_does_not_follow_in_place_rewrites_of_its_source(tmp_path):
    source = tmp_path / "app.log"
    source.write_text("INFO one\n")
    first = local.place_input(source, tmp_path / "volume")
    with source.open("a") as log:  # a log being appended to, as generate.py or a logger does
        log.write("INFO two\n")
    second = local.place_input(source, tmp_path / "volume")
    assert first != second
    assert (tmp_path / "volume" / first).read_text() == "INFO one\n"
    assert (tmp_path / "volume" / second).read_text() == "INFO one\nINFO two\n"


def test_input_directory_is_copied_whole(tmp_path):
    source = tmp_path / "logs"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.log").write_text("WARN y\n")
    relative = local.place_input(source, tmp_path / "volume")
    assert (tmp_path / "volume" / relative / "sub" / "a.log").read_text() == "WARN y\n"


def test_input_inside_the_volume_is_used_in_place(tmp_path):
    inside = tmp_path / "volume" / "data" / "app.log"
    inside.parent.mkdir(parents=True)
    inside.write_text("INFO\n")
    assert local.place_input(inside, tmp_path / "volume") == "data/app.log"
    assert not (tmp_path / "volume" / "inputs").exists()


def test_missing_input_is_an_error(tmp_path):
    with pytest.raises(RunError, match="no such file or directory"):
        local.place_input(tmp_path / "absent", tmp_path / "volume")


def test_a_chart_without_exactly_one_workflow_template_is_refused(tmp_path):
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: empty\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    )
    with pytest.raises(RunError, match="renders 0 WorkflowTemplates"):
        local.render_job(chart, {})


def test_the_every_change_reporter_prints_one_line_per_change():
    stream = io.StringIO()
    reporter = Reporter(stream)
    reporter.node("map(0:0)", "Running", "")
    reporter.node("map(0:0)", "Failed", "exit code 1")
    lines = stream.getvalue().splitlines()
    assert [line.split()[1:] for line in lines] == [
        ["map(0:0)", "Running"],
        ["map(0:0)", "Failed", "exit", "code", "1"],
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_at_most_one_line_a_second_whatever_the_pods():
    clock = FakeClock()
    stream = io.StringIO()
    reporter = reporter_for(stream, clock)
    assert isinstance(reporter, LineReporter)
    reporter.start("wf")
    reporter.total(2, complete=False)  # split and merge known, the fan-out not yet
    assert stream.getvalue().splitlines()[-1].split(None, 1)[1] == "0/2+? pods done, 0 running"
    reporter.node("split", "Running", "")
    reporter.node("split", "Succeeded", "")
    reporter.total(1002, complete=True)  # the fan-out's width is known at once
    # 2,000 events within 0.999 s (two per pod): no line at all.
    for index in range(1000):
        clock.now += 0.0005
        reporter.node(f"map({index}:{index})", "Running", "")
        reporter.node(f"map({index}:{index})", "Succeeded", "")
    assert len(stream.getvalue().splitlines()) == 2
    clock.now = 101.0  # one second after the last line: the next event prints one
    reporter.node("reduce", "Running", "")
    last = stream.getvalue().splitlines()[-1]
    assert len(stream.getvalue().splitlines()) == 3
    # 1001 of 1002 done in 1 s: ETA 1/1001 s, printed as whole seconds.
    assert last.split(None, 1)[1] == "1001/1002 pods done, 1 running, ETA 0:00:00"
    reporter.node("reduce", "Succeeded", "")
    reporter.finish("wf", "Succeeded", "")
    assert stream.getvalue().splitlines()[-2:] == [
        "    1.0s 1002/1002 pods done, 0 running, ETA 0:00:00",
        "    1.0s workflow wf Succeeded",
    ]


def test_failures_and_retries_are_counted_and_folded_into_the_next_line():
    clock = FakeClock()
    stream = io.StringIO()
    reporter = LineReporter(stream, clock)
    reporter.total(10, complete=True)
    reporter.node("a", "Running", "")  # prints (the first status line)
    reporter.node("a", "Failed", "exit code 1; retrying (attempt 2 of 2)", retrying=True)
    reporter.node("a", "Running", "attempt 2 of 2")
    reporter.node("a", "Failed", "exit code 1")
    reporter.node("b", "Running", "")
    reporter.node("b", "Succeeded", "")
    clock.now += 5  # 2 of 10 done in 5 s: 20 s to go
    reporter.node("c", "Running", "")
    assert stream.getvalue().splitlines()[-1] == (
        "    5.0s 2/10 pods done, 1 running, 1 failed, ETA 0:00:20; "
        "last failure: a Failed: exit code 1"
    )


def test_the_eta_is_the_average_pace_so_far():
    clock = FakeClock()
    reporter = Reporter(io.StringIO(), clock)
    reporter.total(5, complete=False)
    reporter.node("a", "Succeeded", "")
    clock.now += 3600
    assert reporter.eta() is None  # the total is not known yet
    reporter.total(4001, complete=True)
    assert reporter.eta() == 3600 * 4000
    assert reporter.status() == "1/4001 pods done, 0 running, ETA 4000:00:00"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_reporter_redraws_one_line_on_a_terminal_at_most_ten_times_a_second():
    clock = FakeClock()
    stream = Terminal()
    reporter = reporter_for(stream, clock)
    assert isinstance(reporter, BarReporter)
    reporter.total(2, complete=True)
    reporter.node("a", "Running", "")
    reporter.node("b", "Running", "")
    reporter.node("a", "Succeeded", "")
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().endswith("0/2 pods done, 0 running")  # not redrawn within 0.1 s
    clock.now += 0.25
    reporter.node("c", "Running", "")
    assert stream.getvalue().endswith(
        "[###############---------------] 1/2 pods done, 2 running, ETA 0:00:00"
    )
    reporter.task("map", "Running", "fan-out over 2 items")  # tasks are not counted
    reporter.node("b", "Failed", "exit code 2")  # failures still get their own line, at once
    assert "b                    Failed  exit code 2\n" in stream.getvalue()
    assert not isinstance(reporter_for(io.StringIO()), BarReporter)
