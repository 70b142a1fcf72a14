"""Pulumi.yaml and the committed stack files: what the CLI would reject or silently mis-read."""

from __future__ import annotations

import pytest
import yaml

from infra import config
from tests.support.pulumi_mocks import REPO_ROOT

PROJECT_FILE = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


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


def test_every_key_the_program_reads_is_declared_with_a_description():
    reader = RecordingReader()
    config.load(reader, "dev")
    declared = {key for key in PROJECT_FILE["config"] if ":" not in key}
    assert declared == reader.asked
    for key in declared:
        entry = PROJECT_FILE["config"][key]
        # Types and defaults live in infra/config.py only.
        assert set(entry) == {"description"}, key


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
