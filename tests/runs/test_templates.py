"""`--template`: submit, result and ephemeral run any job the stack deploys (config `jobs`),
through the same code path as log-count; log-count's flags only where a template declares them."""

from __future__ import annotations

import copy
import json

from common import exports
from tests.runs.fakes import (
    NAMESPACE,
    RESULT,
    FakeArgo,
    FakeStack,
    cli,
    runtime,
    stack_outputs,
    workflow,
    workflow_template,
)
from workflows.runs import argo
from workflows.runs.errors import EXIT_USAGE

TEMPLATES = {"log-count": "log-count", "hello-world": "hello-world", "diamond": "dag-diamond"}
HELLO = "hello-world-x7k2p"  # what FakeArgo names a run of the hello-world template
# The hello-world chart's template as Argo stores it in a run's status (the shape read here).
HELLO_SPEC = {
    "entrypoint": "hello",
    "arguments": {"parameters": [{"name": "message", "value": "hello world"}]},
    "templates": [{"name": "hello", "container": {"image": "python"}}],
}


def hello_template() -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {
            "name": "hello-world",
            "namespace": NAMESPACE,
            "labels": {"helm.sh/chart": "hello-world-0.1.0"},
        },
        "spec": {"arguments": {"parameters": [{"name": "message"}]}},
    }


def hello_run(phase: str) -> dict:
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": HELLO, "namespace": NAMESPACE, "labels": {}},
        "spec": {"workflowTemplateRef": {"name": "hello-world"}},
        "status": {
            "phase": phase,
            "storedWorkflowTemplateSpec": HELLO_SPEC,
            "nodes": {
                HELLO: {"name": HELLO, "type": "Pod", "phase": phase, "templateName": "hello"}
            },
        },
    }
    if phase == "Succeeded":
        run["metadata"]["labels"][argo.COMPLETED_LABEL] = "true"
    return run


def jobs_stack(**outputs: object) -> FakeStack:
    return FakeStack(
        stack_outputs(**{exports.WORKFLOW_TEMPLATES: TEMPLATES, **outputs}), deployed=True
    )


def test_a_seed_template_is_submitted_waited_for_and_succeeds_without_a_result(capsys):
    fake = FakeArgo([hello_run("Running"), hello_run("Succeeded")], template=hello_template())
    argv = ["submit", "-s", "dev", "--template", "hello-world", "-p", "message=hi", "--wait"]
    assert cli(argv, runtime(fake, jobs_stack())) == 0
    (body,) = fake.created
    assert body["spec"]["workflowTemplateRef"] == {"name": "hello-world"}
    assert body["metadata"]["generateName"] == "hello-world-"
    assert body["spec"]["arguments"]["parameters"] == [{"name": "message", "value": "hi"}]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{HELLO} Succeeded: steps 1/1 done" in captured.err
    assert f"workflow {HELLO} succeeded; its template declares no `result` output" in captured.err


def test_a_template_is_found_by_its_job_or_its_template_name(capsys):
    diamond = copy.deepcopy(hello_template())
    diamond["metadata"]["name"] = "dag-diamond"
    for name in ("diamond", "dag-diamond"):
        fake = FakeArgo([], template=diamond)
        assert cli(["submit", "-s", "dev", "--template", name], runtime(fake, jobs_stack())) == 0
        assert fake.created[0]["spec"]["workflowTemplateRef"] == {"name": "dag-diamond"}
        assert capsys.readouterr().out == "dag-diamond-x7k2p\n"


def test_an_unknown_template_names_the_stack_s_jobs(capsys):
    fake = FakeArgo([])
    argv = ["submit", "-s", "dev", "--template", "hello"]
    assert cli(argv, runtime(fake, jobs_stack())) == EXIT_USAGE
    assert fake.created == []
    assert capsys.readouterr().err == (
        "error: --template hello: stack 'dev' deploys no job or WorkflowTemplate of that name; "
        "its jobs: log-count, hello-world, diamond (template dag-diamond) (config `jobs`, then "
        "`pulumi up -s dev`)\n"
    )


def test_log_count_parameters_are_refused_for_a_template_without_them(capsys):
    fake = FakeArgo([], template=hello_template())
    argv = ["submit", "-s", "dev", "--template", "hello-world", "-p", "keywords=ERROR"]
    assert cli(argv, runtime(fake, jobs_stack())) == EXIT_USAGE
    assert fake.created == []
    assert (
        "error: WorkflowTemplate hello-world: -p keywords: the template has no parameter "
        "'keywords' (parameters: message)"
    ) in capsys.readouterr().err


def test_input_is_refused_for_a_template_that_takes_none(capsys, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("ERROR x\n")
    volume = tmp_path / "volume"
    volume.mkdir()
    fake = FakeArgo([], template=hello_template())
    argv = ["submit", "-s", "dev", "--template", "hello-world", "--input", str(log)]
    assert cli(argv, runtime(fake, jobs_stack(dataDir=str(volume)))) == EXIT_USAGE
    assert fake.created == [] and list(volume.iterdir()) == []  # nothing staged
    assert capsys.readouterr().err == (
        "error: --input: WorkflowTemplate hello-world (job hello-world) declares no `input` "
        "parameter, so nothing would read the staged file (its parameters: message); --input "
        "is for jobs that take one, such as log-count\n"
    )


def test_the_job_s_own_parsers_check_only_log_count_values(capsys):
    """A seed chart's parameter that shares a log-count name is not parsed as log-count's."""
    template = hello_template()
    template["spec"]["arguments"]["parameters"] = [{"name": "numParts"}]
    fake = FakeArgo([], template=template)
    argv = ["submit", "-s", "dev", "--template", "hello-world", "-p", "numParts=many"]
    assert cli(argv, runtime(fake, jobs_stack())) == 0
    # Without --template, log-count's parser refuses it before the stack is read.
    assert cli(["submit", "-s", "dev", "-p", "numParts=many"], runtime(fake, None)) == EXIT_USAGE
    assert "-p numParts=many: " in capsys.readouterr().err


def test_result_checks_the_run_is_of_the_template_named(capsys):
    fake = FakeArgo([hello_run("Succeeded")], template=hello_template())
    fake.created.append(
        {"metadata": {"generateName": "hello-world-"}, "spec": {"workflowTemplateRef": {}}}
    )
    stack = jobs_stack()
    assert (
        cli(["result", "-s", "dev", "--template", "hello-world", HELLO], runtime(fake, stack)) == 0
    )
    argv = ["result", "-s", "dev", "--template", "log-count", HELLO]
    assert cli(argv, runtime(fake, stack)) == EXIT_USAGE
    assert (
        f"error: --template log-count: workflow {HELLO} is a run of hello-world, not of job "
        "log-count's template log-count"
    ) in capsys.readouterr().err


def test_a_stack_from_before_the_jobs_map_runs_log_count_only(capsys):
    """Without the workflowTemplates output, log-count (workflowTemplate) is the only job."""
    finished = workflow("Succeeded", shards=["0"], done=1, result=RESULT)
    fake = FakeArgo([finished], template=workflow_template())
    stack = FakeStack(stack_outputs(), deployed=True)
    assert (
        cli(["submit", "-s", "dev", "--template", "log-count", "--wait"], runtime(fake, stack)) == 0
    )
    assert json.loads(capsys.readouterr().out) == RESULT
    assert cli(["submit", "-s", "dev", "--template", "hello-world"], runtime(fake, stack)) == 2
    assert "its jobs: log-count (config `jobs`" in capsys.readouterr().err


def test_ephemeral_runs_a_seed_template_through_the_same_path(capsys):
    fake = FakeArgo([hello_run("Succeeded")], template=hello_template())
    stack = FakeStack(stack_outputs(**{exports.WORKFLOW_TEMPLATES: TEMPLATES}))
    assert cli(["ephemeral", "-s", "dev", "--template", "hello-world"], runtime(fake, stack)) == 0
    assert stack.calls == ["up", "destroy"]
    assert fake.created[0]["spec"]["workflowTemplateRef"] == {"name": "hello-world"}
    assert "declares no `result` output" in capsys.readouterr().err
