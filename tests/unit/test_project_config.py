"""Config read under the current project's name (`pulumi new` may name the project anything)."""

from __future__ import annotations

import pytest

from infra import config
from infra.config import ConfigError, ProjectConfig


def test_the_projects_own_namespace_is_read():
    project = ProjectConfig(
        "team-batch", {"team-batch:target": "existing", "pulumi:disable-default-providers": "[]"}
    )
    assert project.get("target") == "existing"
    assert project.get("workload") is None
    assert project.aliased == ()


def test_a_fixed_argo_fanout_namespace_would_have_missed_them():
    values = {"team-batch:workload": '{"numParts": 3}'}
    loaded = config.load(ProjectConfig("team-batch", values), "lab")
    assert loaded.default_job.values["job"]["numParts"] == 3


def test_argo_fanout_keys_still_work_in_a_project_of_another_name():
    values = {
        "team-batch:target": "kind",  # Pulumi.yaml's default, passed by the CLI
        "team-batch:workload": "{}",
        "argo-fanout:target": "existing",
        "argo-fanout:workload": '{"numParts": 6}',
    }
    project = ProjectConfig("team-batch", values)
    assert project.get("target") == "existing"
    assert project.get("workload") == '{"numParts": 6}'
    assert project.aliased == ("target", "workload")


def test_a_key_set_in_both_namespaces_is_an_error_naming_both():
    values = {"team-batch:target": "ackone", "argo-fanout:target": "existing"}
    with pytest.raises(ConfigError, match=r"^team-batch:target and argo-fanout:target are both"):
        ProjectConfig("team-batch", values)


@pytest.mark.parametrize(
    ("key", "closest"),
    [("targte", "target"), ("worklaod", "workload"), ("storag", "storage")],
)
def test_an_unknown_key_names_the_closest_known_one(key, closest):
    with pytest.raises(ConfigError) as raised:
        ProjectConfig("team-batch", {f"team-batch:{key}": "x"})
    message = str(raised.value)
    assert message.startswith(f"team-batch:{key}: unknown configuration key; ")
    assert f"did you mean team-batch:{closest}?" in message


def test_an_unknown_key_far_from_any_is_still_named():
    with pytest.raises(ConfigError, match=r"^argo-fanout:zzz: unknown configuration key; known"):
        ProjectConfig("argo-fanout", {"argo-fanout:zzz": "1"})


def test_other_namespaces_are_not_ours():
    project = ProjectConfig("argo-fanout", {"alicloud:region": "cn-hangzhou", "other:x": "1"})
    assert project.get("region") is None


def test_config_errors_are_run_errors_so_the_cli_prints_no_traceback():
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)
