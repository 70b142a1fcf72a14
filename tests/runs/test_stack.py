"""Stack access: Automation API failures become one-line errors; outputs are parsed strictly."""

from __future__ import annotations

import re

import pulumi.automation as auto
import pytest
import yaml
from pulumi.automation._cmd import CommandResult

from tests.runs.fakes import KUBECONFIG, cli, stack_outputs
from workflows import __main__ as workflows_main
from workflows.runs.errors import EXIT_RUN_FAILED, EXIT_USAGE, RunError
from workflows.runs.stack import PulumiStack, StackLocked, StackOutputs
from workflows.runs.submit import Runtime


def command_error(kind: type[auto.errors.CommandError], stderr: str) -> Exception:
    return kind(CommandResult(stdout="Updating (dev):\n", stderr=stderr, code=255))


def test_missing_pulumi_cli_through_the_real_entry_point(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pulumi anywhere
    assert workflows_main.main(["submit", "-s", "dev"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == (
        "error: the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/);"
        " the run commands read stacks through it\n"
    )


def test_stack_not_found_is_one_line(capsys, monkeypatch):
    def select_stack(name, work_dir):
        raise command_error(auto.errors.StackNotFoundError, "error: no stack named 'prod' found\n")

    monkeypatch.setattr(auto, "select_stack", select_stack)
    assert cli(["result", "-s", "prod", "wf"], Runtime()) == EXIT_USAGE
    assert capsys.readouterr().err == (
        "error: stack 'prod' not found in the current Pulumi backend: list them with "
        "`pulumi stack ls`, or `pulumi login` to the backend that holds it\n"
    )


def test_select_or_create_creates_a_missing_stack(monkeypatch):
    created = []

    class Created:
        name = "scratch"

    def select_stack(name, work_dir):
        raise command_error(auto.errors.StackNotFoundError, "error: no stack named")

    def create_stack(name, work_dir):
        created.append((name, work_dir))
        return Created()

    monkeypatch.setattr(auto, "select_stack", select_stack)
    monkeypatch.setattr(auto, "create_stack", create_stack)
    stack, was_created = PulumiStack.select_or_create("scratch")
    assert (stack.name, was_created) == ("scratch", True)
    assert created[0][0] == "scratch"


class FailingStack:
    """An auto.Stack whose up/destroy fail with a given CommandError."""

    name = "dev"

    def __init__(self, error: Exception) -> None:
        self._error = error

    def up(self, **kwargs):
        raise self._error

    destroy = up


def test_failed_up_keeps_the_last_error_line():
    stderr = "warning: something\nerror: update failed\nerror: creating VPC: QuotaExceeded\n"
    stack = PulumiStack(FailingStack(command_error(auto.errors.CommandError, stderr)))
    with pytest.raises(RunError) as raised:
        stack.up(print)
    assert str(raised.value) == "pulumi failed on stack 'dev': error: creating VPC: QuotaExceeded"
    assert raised.value.exit_code == EXIT_RUN_FAILED


def test_locked_stack_on_destroy_is_stack_locked():
    stderr = "error: the stack is currently locked by 1 lock(s)."
    stack = PulumiStack(FailingStack(command_error(auto.errors.ConcurrentUpdateError, stderr)))
    with pytest.raises(StackLocked, match="locked by another update: error: the stack is"):
        stack.destroy(print)


def test_outputs_parse_the_kubeconfig_text():
    outputs = StackOutputs.parse("dev", stack_outputs(dataDir="/data"))
    assert outputs.kubeconfig["current-context"] == "kind"
    assert (outputs.namespace, outputs.template, outputs.data_dir) == (
        "log-count",
        "log-count",
        "/data",
    )
    assert outputs.oss_bucket is None


@pytest.mark.parametrize(
    ("kubeconfig", "message"),
    [
        ("clusters: [unclosed", "output kubeconfig is not YAML"),
        ("apiVersion: v1\nkind: Config\n", "output kubeconfig is not a kubeconfig (no clusters)"),
    ],
)
def test_a_broken_kubeconfig_output_is_named(kubeconfig, message):
    with pytest.raises(RunError, match=re.escape(message)):
        StackOutputs.parse("dev", stack_outputs(kubeconfig=kubeconfig))


def test_kubeconfig_given_as_a_mapping_is_used_as_is():
    mapping = yaml.safe_load(KUBECONFIG)
    assert StackOutputs.parse("dev", stack_outputs(kubeconfig=mapping)).kubeconfig == mapping


def test_input_staging_and_cluster_ownership_are_required_outputs():
    """A stack deployed before these outputs existed says how to get them, naming both."""
    outputs = stack_outputs()
    del outputs["inputStaging"], outputs["ownsCluster"]
    with pytest.raises(RunError, match="lacks the outputs inputStaging, ownsCluster"):
        StackOutputs.parse("dev", outputs)


def test_an_unknown_input_staging_is_named():
    with pytest.raises(RunError, match=r"output inputStaging is 'ftp', not one of localDir"):
        StackOutputs.parse("dev", stack_outputs(inputStaging="ftp"))


@pytest.mark.parametrize(
    ("staging", "needs"),
    [("localDir", "dataDir"), ("objectStore", "ossBucket, ossEndpoint, ossPath")],
)
def test_each_staging_needs_its_own_outputs(staging, needs):
    with pytest.raises(RunError, match=f"lacks the outputs {needs} "):
        StackOutputs.parse("dev", stack_outputs(inputStaging=staging))
