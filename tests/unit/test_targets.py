"""The targets' declarations (infra/targets/) and the contract their components meet."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from infra import config
from infra.targets import SPECS
from infra.targets.contracts import StorageBinding, TargetSpec


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_spec_names_a_builder_with_the_contract_s_signature(name):
    spec = SPECS[name]
    build = spec.build()
    assert callable(build)
    assert list(inspect.signature(build).parameters) == ["name", "cfg", "opts"]
    assert config.FIELDS[name] == spec.fields
    assert config.STORAGE_TYPES[name] == spec.storage_types
    assert config.COMPUTE_PROFILES[name] == spec.compute_profiles


def test_config_knows_exactly_the_declared_targets_in_order():
    assert config.TARGETS == tuple(SPECS) == ("kind", "existing", "ackone")
    assert config.DEFAULT_TARGET == "kind"
    assert config.KEYS[2:5] == config.TARGETS


def test_a_spec_that_contradicts_itself_is_refused():
    kind = SPECS["kind"]
    with pytest.raises(ValueError, match="default compute 'eci' not allowed"):
        dataclasses.replace(kind, default_compute="eci")
    with pytest.raises(ValueError, match="nas storage needs nas_server"):
        dataclasses.replace(kind, storage_types=("nas",))
    assert isinstance(kind, TargetSpec)


def test_a_binding_stages_inputs_only_in_a_known_way():
    with pytest.raises(ValueError, match="input_staging 'ftp'"):
        StorageBinding(values={}, input_staging="ftp")
    assert StorageBinding(values={}).input_staging == "none"
