"""What keeps runs safe on a cluster: confinement, no token in step pods, one-shot usage errors."""

from __future__ import annotations

import helm_python
import pytest

from tests.chart.scenarios import RELEASE, only, render
from tests.chart.test_workflowtemplate import STEPS, args_of, templates_by_name, workflow_template
from tests.job.jobcode import logcount
from workflows import staging
from workflows.runlocal import expression


def test_split_is_confined_to_the_mount_path():
    for mount_path in ("/data", "/mnt/shared"):
        template = workflow_template({"storage": {"mountPath": mount_path}})
        assert args_of(templates_by_name(template)["split"])["--root"] == mount_path


def test_every_flag_the_job_names_a_parameter_for_carries_that_parameter():
    # logcount.PARAMETER_FLAGS is how the job's errors name what the user typed: it must match.
    steps = templates_by_name(workflow_template())
    args = {flag: value for step in STEPS for flag, value in args_of(steps[step]).items()}
    for parameter, flag in logcount.PARAMETER_FLAGS.items():
        assert f"{{{{workflow.parameters.{parameter}}}}}" in args[flag]


def test_step_pods_mount_no_token_and_the_executor_gets_its_own():
    spec = workflow_template()["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": RELEASE}
    assert spec["serviceAccountName"] == RELEASE
    objects = render({})
    secret = only(objects, "Secret")
    assert secret["metadata"]["name"] == f"{RELEASE}-executor-token"
    assert secret["type"] == "kubernetes.io/service-account-token"
    # Argo finds an account's token Secret through this annotation (TokenNameForServiceAccount).
    account = only(objects, "ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "workflows.argoproj.io/service-account-token.name": f"{RELEASE}-executor-token"
    }
    assert secret["metadata"]["annotations"] == {"kubernetes.io/service-account.name": RELEASE}


def test_an_existing_account_is_the_executor_account_and_no_secret_is_rendered():
    values = {"serviceAccount": {"create": False, "name": "batch-runner"}}
    spec = workflow_template(values)["spec"]
    assert spec["executor"] == {"serviceAccountName": "batch-runner"}
    assert not [obj for obj in render(values) if obj["kind"] == "Secret"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_step_s_log_tail_becomes_its_message(step):
    container = templates_by_name(workflow_template())[step]["container"]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


@pytest.mark.parametrize("step", STEPS)
def test_usage_errors_are_not_retried_everything_else_is(step):
    strategy = templates_by_name(workflow_template())[step]["retryStrategy"]
    assert strategy["retryPolicy"] == "Always"
    rule = expression.parse(strategy["expression"])

    def retried(exit_code: str, status: str = "Failed") -> bool:
        scope = {
            "retries": "0",
            "lastRetry.exitCode": exit_code,
            "lastRetry.status": status,
            "lastRetry.duration": "3.5",
            "lastRetry.message": "",
        }
        return rule.evaluate(scope)

    assert not retried(str(logcount.EXIT_USAGE))
    # 1: merge's verification, 137: OOM or SIGKILL, 143: SIGTERM (eviction), -1: no exit code
    # (a deleted pod, a lost node), and an Error node.
    for exit_code in ("1", "137", "143", "-1"):
        assert retried(exit_code)
    assert retried("-1", "Error")


@pytest.mark.parametrize("keywords", ["INFO,,WARN", ",INFO", "INFO,", "IN\nFO"])
def test_keyword_lists_with_empty_items_are_refused(keywords):
    with pytest.raises(helm_python.HelmValuesError, match="at '/job/keywords"):
        render({"job": {"keywords": keywords}})
    with pytest.raises(logcount.UsageError):
        logcount.parse_keywords(keywords)


def test_keyword_lists_with_duplicates_are_refused():
    with pytest.raises(helm_python.HelmError, match=r'job.keywords .* lists "INFO" twice'):
        render({"job": {"keywords": "INFO,WARN,INFO"}})


def test_keywords_the_job_accepts_render():
    for keywords in ("INFO", "/data,/tmp", "a b,{x}"):
        logcount.parse_keywords(keywords)
        render({"job": {"keywords": keywords}})


def test_the_job_s_parameters_are_the_template_s():
    # The run commands check -p names against these before reaching a cluster.
    declared = [p["name"] for p in workflow_template()["spec"]["arguments"]["parameters"]]
    assert [p["name"] for p in staging.job_parameters()] == declared


RATIOS = ["1", "1.0", "1.000", "0.9", "0.95", ".5", "0.001"]
NOT_RATIOS = [
    "0",
    "0.0",
    ".0",
    "1.5",
    "2",
    "1.01",
    "90%",
    "1e-1",
    " 0.9",
    "",
    "-0.5",
    "nan",
    "0.9.1",
]


@pytest.mark.parametrize("ratio", RATIOS)
def test_a_min_success_ratio_the_job_accepts_renders(ratio):
    assert 0 < logcount.parse_ratio(ratio) <= 1
    render({"job": {"minSuccessRatio": ratio}})


@pytest.mark.parametrize("ratio", NOT_RATIOS)
def test_a_min_success_ratio_the_job_refuses_fails_the_install(ratio):
    with pytest.raises(logcount.UsageError, match="is not a ratio above 0 and at most 1"):
        logcount.parse_ratio(ratio)
    with pytest.raises(helm_python.HelmValuesError, match="at '/job/minSuccessRatio"):
        render({"job": {"minSuccessRatio": ratio}})
