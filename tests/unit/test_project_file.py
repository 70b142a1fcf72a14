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
