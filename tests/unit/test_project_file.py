"""Pulumi.yaml and the committed stack files: what the CLI would reject or silently mis-read."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from infra import config
from tests.support.pulumi_mocks import (
    REPO_ROOT,
    MissingConfigError,
    merge_project_config,
    stack_config,
)

PROJECT_FILE = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
STACK_FILES = sorted(REPO_ROOT.glob("Pulumi.*.yaml"))
PROJECT_KEYS = sorted(key for key in PROJECT_FILE["config"] if ":" not in key)


class RecordingReader(dict):
    """A config reader that remembers which keys the program asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_runtime_uses_the_repository_virtualenv():
    assert PROJECT_FILE["name"] == config.PROJECT
    assert PROJECT_FILE["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }


def test_every_key_the_program_reads_is_declared_with_a_description_and_a_default():
    reader = RecordingReader()
    config.load(reader, "dev")
    assert set(PROJECT_KEYS) == reader.asked
    for key in PROJECT_KEYS:
        entry = PROJECT_FILE["config"][key]
        # Without a default the CLI requires every stack to set the key.
        assert set(entry) == {"description", "default"}, key
        assert entry["description"].strip(), key


def test_scalar_defaults_are_config_py_defaults():
    defaults = {key: PROJECT_FILE["config"][key]["default"] for key in PROJECT_KEYS}
    assert defaults["target"] == config.DEFAULT_TARGET
    assert defaults["production"] is config.DEFAULT_PRODUCTION
    objects = {key: value for key, value in defaults.items() if key not in ("target", "production")}
    assert objects == {key: {} for key in objects}


@pytest.mark.parametrize("target", config.TARGETS)
def test_the_project_defaults_read_like_unset_keys(target, monkeypatch):
    """What the CLI passes a stack that sets only its target equals setting nothing else."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    defaults = {key: PROJECT_FILE["config"][key]["default"] for key in PROJECT_KEYS}
    minimal = {"target": target}
    if target == "existing":  # needs one of its fields, so it sets that object itself
        minimal["existing"] = {"context": "prod"}
        minimal["storage"] = {"existingClaim": "data"}
    with_defaults = config.load({**defaults, **minimal}, "s", region="cn-hangzhou")
    assert with_defaults == config.load(minimal, "s", region="cn-hangzhou")


def cli_reader(values: dict[str, str]) -> dict[str, str]:
    """The argo-fanout keys of a PULUMI_CONFIG map, as pulumi.Config(PROJECT) reads them."""
    prefix = f"{config.PROJECT}:"
    return {key[len(prefix) :]: value for key, value in values.items() if key.startswith(prefix)}


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_every_stack_file_passes_the_cli_merge_and_the_config(stack_file, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    stack = stack_file.name.split(".")[1]
    values, _ = stack_config(stack)
    for key in PROJECT_KEYS:
        assert f"{config.PROJECT}:{key}" in values, f"{key} reaches the program"
    cfg = config.load(cli_reader(values), stack, region=values.get("alicloud:region"))
    assert cfg.target == yaml.safe_load(stack_file.read_text())["config"]["argo-fanout:target"]


def test_a_declared_key_without_default_is_required_like_the_cli_does():
    # The shape this file had before: descriptions only. The CLI refused `pulumi up -s dev`.
    described_only = copy.deepcopy(PROJECT_FILE)
    for key in PROJECT_KEYS:
        described_only["config"][key].pop("default")
    dev = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    message = (
        "Stack 'dev' is missing configuration values 'ackone', 'argo', 'existing', 'production' "
        "and 'workload'"
    )
    with pytest.raises(MissingConfigError, match=f"^{re.escape(message)}$"):
        merge_project_config(described_only, "dev", dev)
    one_missing = {"name": "p", "config": {"argo-fanout:only": {"description": "x"}}}
    with pytest.raises(
        MissingConfigError, match=r"^Stack 's' is missing configuration value 'argo-fanout:only'$"
    ):
        merge_project_config(one_missing, "s", {})


def test_the_merge_fills_defaults_and_values_and_keeps_what_the_stack_sets():
    project = {
        "config": {
            "target": {"default": "kind"},
            "workers": 2,  # the shorthand form: a default for a project key
            "pulumi:disable-default-providers": {"value": ["kubernetes"]},
            "alicloud:region": {"description": "not the project's: never required"},
        }
    }
    merged = merge_project_config(project, "s", {"argo-fanout:target": "ackone"})
    assert merged == {
        "argo-fanout:target": "ackone",
        "argo-fanout:workers": 2,
        "pulumi:disable-default-providers": ["kubernetes"],
    }


def test_default_kubernetes_providers_are_disabled_for_every_stack():
    entry = PROJECT_FILE["config"]["pulumi:disable-default-providers"]
    # Keys outside the project namespace may only carry a value.
    assert set(entry) == {"value"} and "kubernetes" in entry["value"]


def test_template_prompts_for_target_and_region_with_working_defaults():
    prompts = PROJECT_FILE["template"]["config"]
    assert prompts["target"]["default"] == "kind"
    assert config.load({"target": prompts["target"]["default"]}, "new").target == "kind"
    region = prompts["alicloud:region"]["default"]
    assert config.load({"target": "ackone"}, "new", region=region).region == region


@pytest.mark.parametrize("stack_file", sorted(REPO_ROOT.glob("Pulumi.*.yaml")))
def test_stack_files_use_the_project_namespace_and_no_encrypted_values(stack_file):
    keys = yaml.safe_load(stack_file.read_text())["config"]
    for key, value in keys.items():
        assert key.split(":")[0] in (config.PROJECT, "alicloud", "pulumi"), key
        assert not (isinstance(value, dict) and "secure" in value), f"{key} is encrypted"


def readme_configuration_keys() -> list[str]:
    """The keys in the first column of the README's Configuration table."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [row.split("`")[1] for row in rows]


def test_readme_documents_every_key_and_only_real_ones():
    documented = readme_configuration_keys()
    leaves = {"target", "production"}
    for section, fields in config.FIELDS.items():
        if section == "workload.resources":
            continue  # step -> requests|limits -> resource name: one row describes the pattern
        leaves |= {
            f"{section}.{field}" for field in fields if f"{section}.{field}" not in config.FIELDS
        }
    resources_row = (
        "workload.resources.<split\\|count\\|merge>.<requests\\|limits>.<"
        + "\\|".join(config.RESOURCE_NAMES)
        + ">"
    )
    assert sorted(set(documented) - {resources_row}) == sorted(leaves)
    assert len(documented) == len(set(documented)), "a key is documented twice"
    assert resources_row in documented
