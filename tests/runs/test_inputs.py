"""--input: copied into a kind stack's dataDir, uploaded to an OSS bucket, or refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.runs.fakes import (
    RESULT,
    FakeArgo,
    FakeObjectStore,
    FakeStack,
    cli,
    runtime,
    stack_outputs,
    workflow,
)
from workflows.runs.errors import EXIT_USAGE, RunError
from workflows.runs.inputs import OSS_CREDENTIAL_VARIABLES, OssObjectStore, stage_input
from workflows.runs.stack import StackOutputs

SUCCEEDED = workflow("Succeeded", shards=["0"], done=1, result=RESULT)


def outputs(**overrides: object) -> StackOutputs:
    return StackOutputs.parse("dev", stack_outputs(**overrides))


STAGE = r"inputs/\d{8}T\d{6}Z-[0-9a-f]{12}"


def staged_parameter(fake: FakeArgo, index: int = 0) -> str:
    parameters = fake.created[index]["spec"]["arguments"]["parameters"]
    (value,) = [p["value"] for p in parameters if p["name"] == "input"]
    return value


def test_submit_copies_the_file_into_a_new_stage_and_passes_its_relative_path(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "app.log"
    log.write_text("INFO a\nERROR b\n")
    fake = FakeArgo([SUCCEEDED])
    stack = FakeStack(stack_outputs(dataDir=str(data_dir)), deployed=True)
    assert cli(["submit", "-s", "dev", "--input", str(log)], runtime(fake, stack)) == 0
    relative = staged_parameter(fake)
    assert re.fullmatch(rf"{STAGE}/app\.log", relative)
    assert (data_dir / relative).read_text() == "INFO a\nERROR b\n"


def test_a_second_submission_never_replaces_an_input_a_run_may_still_read(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "app.log"
    log.write_text("INFO first\n")
    fake = FakeArgo([SUCCEEDED, SUCCEEDED])
    stack = FakeStack(stack_outputs(dataDir=str(data_dir)), deployed=True)
    assert cli(["submit", "-s", "dev", "--input", str(log)], runtime(fake, stack)) == 0
    log.write_text("INFO second\n")
    assert cli(["submit", "-s", "dev", "--input", str(log)], runtime(fake, stack)) == 0
    first, second = staged_parameter(fake, 0), staged_parameter(fake, 1)
    assert first != second
    assert (data_dir / first).read_text() == "INFO first\n"
    assert (data_dir / second).read_text() == "INFO second\n"


def test_a_directory_is_copied_whole_into_its_own_stage(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "inputs" / "logs").mkdir(parents=True)
    (data_dir / "inputs" / "logs" / "older.log").write_text("old")
    logs = tmp_path / "logs"
    (logs / "b").mkdir(parents=True)
    (logs / "a.log").write_text("INFO\n")
    (logs / "b" / "c.log").write_text("WARN\n")
    relative = stage_input(logs, outputs(dataDir=str(data_dir)))
    assert re.fullmatch(rf"{STAGE}/logs", relative)
    copied = sorted(
        p.relative_to(data_dir / relative).as_posix() for p in (data_dir / relative).rglob("*.log")
    )
    assert copied == ["a.log", "b/c.log"]
    assert (data_dir / "inputs" / "logs" / "older.log").read_text() == "old"  # left alone


def test_a_failed_copy_leaves_no_half_stage(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    log = tmp_path / "app.log"
    log.write_text("INFO\n")

    def disk_full(source, target):
        Path(target).write_text("IN")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("workflows.staging.shutil.copyfile", disk_full)
    with pytest.raises(
        RunError, match=r"--input: copying .*app\.log to .* failed: .*No space left"
    ):
        stage_input(log, outputs(dataDir=str(data_dir)))
    assert list((data_dir / "inputs").iterdir()) == []


def test_input_already_inside_data_dir_is_used_in_place(tmp_path):
    log = tmp_path / "runs" / "given.log"
    log.parent.mkdir()
    log.write_text("INFO\n")
    assert stage_input(log, outputs(dataDir=str(tmp_path))) == "runs/given.log"
    assert not (tmp_path / "inputs").exists()


def test_data_dir_missing_on_this_machine(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("INFO\n")
    with pytest.raises(RunError, match=r"dataDir .*/elsewhere does not exist on this machine"):
        stage_input(log, outputs(dataDir=str(tmp_path / "elsewhere")))


def test_missing_input_path(tmp_path, capsys):
    stack = FakeStack(stack_outputs(dataDir=str(tmp_path)), deployed=True)
    fake = FakeArgo([SUCCEEDED])
    missing = tmp_path / "nope.log"
    assert cli(["submit", "-s", "dev", "--input", str(missing)], runtime(fake, stack)) == 2
    assert f"error: --input {missing}: no such file or directory" in capsys.readouterr().err
    assert fake.created == []


def test_input_and_input_parameter_together_are_refused(tmp_path, capsys):
    stack = FakeStack(stack_outputs(dataDir=str(tmp_path)), deployed=True)
    argv = ["submit", "-s", "dev", "--input", str(tmp_path), "-p", "input=x.log"]
    assert cli(argv, runtime(FakeArgo([SUCCEEDED]), stack)) == EXIT_USAGE
    assert "--input and -p input=... both set the input" in capsys.readouterr().err


def test_oss_stack_uploads_files_under_inputs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_bytes(b"INFO\n")
    (logs / "b.log").write_bytes(b"WARN\n")
    store = FakeObjectStore()
    oss_outputs = outputs(
        target="ackone", ossBucket="bkt", ossEndpoint="oss-cn-hangzhou.aliyuncs.com", ossPath="/"
    )
    relative = stage_input(logs, oss_outputs, store)
    assert re.fullmatch(rf"{STAGE}/logs", relative)
    assert store.objects == {f"{relative}/a.log": b"INFO\n", f"{relative}/b.log": b"WARN\n"}
    single = stage_input(logs / "a.log", oss_outputs, store)
    assert (
        re.fullmatch(rf"{STAGE}/a\.log", single)
        and single.rsplit("/", 2)[1] != relative.rsplit("/", 2)[1]
    )
    assert store.objects[single] == b"INFO\n"


def test_oss_uploads_go_below_the_bucket_directory_the_volume_mounts(tmp_path, capsys):
    log = tmp_path / "app.log"
    log.write_bytes(b"INFO\n")
    stack = FakeStack(
        stack_outputs(
            target="ackone",
            ossBucket="bkt",
            ossEndpoint="oss-cn-beijing.aliyuncs.com",
            ossPath="/team/logs",
        ),
        deployed=True,
    )
    store = FakeObjectStore()
    fake = FakeArgo([SUCCEEDED])
    argv = ["submit", "-s", "dev", "--input", str(log)]
    assert cli(argv, runtime(fake, stack, object_store=store)) == 0
    relative = staged_parameter(fake)
    assert re.fullmatch(rf"{STAGE}/app\.log", relative)
    assert store.objects == {f"team/logs/{relative}": b"INFO\n"}


def test_oss_stack_without_its_mount_path_output_is_named(tmp_path, capsys):
    stack = FakeStack(
        stack_outputs(target="ackone", ossBucket="bkt", ossEndpoint="oss-cn-beijing.aliyuncs.com"),
        deployed=True,
    )
    assert cli(["submit", "-s", "dev"], runtime(FakeArgo([SUCCEEDED]), stack)) == EXIT_USAGE
    assert "lacks the outputs ossPath" in capsys.readouterr().err


def test_empty_directory_is_refused_for_upload(tmp_path):
    oss_outputs = outputs(target="ackone", ossBucket="bkt", ossEndpoint="x", ossPath="/")
    with pytest.raises(RunError, match="the directory holds no files"):
        stage_input(tmp_path, oss_outputs, FakeObjectStore())


def test_other_storage_is_refused_with_what_to_do_instead(tmp_path, capsys):
    log = tmp_path / "app.log"
    log.write_text("INFO\n")
    stack = FakeStack(stack_outputs(target="existing", volumeClaim="team-logs"), deployed=True)
    fake = FakeArgo([SUCCEEDED])
    assert cli(["submit", "-s", "dev", "--input", str(log)], runtime(fake, stack)) == EXIT_USAGE
    assert capsys.readouterr().err.strip() == (
        "error: --input: stack 'dev' (target existing) keeps its data on claim 'team-logs', "
        f"which this command cannot write to: copy {log} into that volume yourself and pass "
        "-p input=<its path relative to the volume>"
    )
    assert fake.created == []


@pytest.fixture
def no_credentials(monkeypatch):
    for variables in OSS_CREDENTIAL_VARIABLES:
        for variable in variables:
            monkeypatch.delenv(variable, raising=False)


def test_oss_upload_needs_credentials(no_credentials):
    with pytest.raises(RunError, match="needs an AccessKey in OSS_ACCESS_KEY_ID/"):
        OssObjectStore("bkt", "oss-cn-hangzhou.aliyuncs.com")


def test_oss_credentials_of_the_pulumi_provider_are_accepted(no_credentials, monkeypatch):
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "id")
    monkeypatch.setenv("ALICLOUD_SECRET_KEY", "secret")
    OssObjectStore("bkt", "https://oss-cn-hangzhou.aliyuncs.com")


@pytest.mark.parametrize("endpoint", [None, "s3.amazonaws.com", "oss-.aliyuncs.com"])
def test_oss_endpoint_must_name_a_region(endpoint, monkeypatch):
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", "secret")
    with pytest.raises(RunError, match="is not an OSS endpoint"):
        OssObjectStore("bkt", endpoint)


def test_staging_follows_the_stack_output_not_the_target_name(tmp_path):
    """Any target whose stack says localDir gets the copy (a new target needs no change here),
    and a dataDir output alone does not make a stack that says none copy anything."""
    log = tmp_path / "app.log"
    log.write_text("INFO\n")
    data_dir = tmp_path / "volume"
    data_dir.mkdir()
    somewhere = outputs(target="a-new-target", dataDir=str(data_dir))
    assert somewhere.input_staging == "localDir"
    relative = stage_input(log, somewhere)
    assert (data_dir / relative).read_text() == "INFO\n"
    refused = outputs(target="kind", dataDir=str(data_dir), inputStaging="none")
    with pytest.raises(RunError, match="cannot write to"):
        stage_input(log, refused)
