"""values.schema.json: closed everywhere, and Helm rejects mistyped keys and wrong types."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import pytest

from tests.chart.scenarios import render
from tests.job.jobcode import logcount
from workflows.chart import LOG_COUNT_CHART, PLATFORM_CHART, job_chart_dirs, load_chart

SCHEMA = json.loads((LOG_COUNT_CHART / "values.schema.json").read_text())
CHARTS = [PLATFORM_CHART, *job_chart_dirs()]
# Free-form by nature: Kubernetes objects the user adds.
FREE_FORM = {"/properties/extraObjects/items", "/properties/fanout-lib/properties/global"}


def object_schemas(schema: Any, path: str = ""):
    """Every (path, sub-schema) that describes a JSON object."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind):
            yield path, schema
        for key, child in schema.items():
            yield from object_schemas(child, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, child in enumerate(schema):
            yield from object_schemas(child, f"{path}/{index}")


@pytest.mark.parametrize("chart", CHARTS, ids=lambda chart: chart.name)
def test_every_object_schema_is_closed(chart):
    # Either no other keys (additionalProperties false) or a typed map (labels, quantities).
    schema = json.loads((chart / "values.schema.json").read_text())
    open_schemas = [
        path
        for path, schema in object_schemas(schema)
        if path not in FREE_FORM
        and schema.get("additionalProperties") is not False
        and not isinstance(schema.get("additionalProperties"), dict)
    ]
    assert not open_schemas


@pytest.mark.parametrize("chart", CHARTS, ids=lambda chart: chart.name)
def test_schema_covers_every_default_value(chart):
    # A key in values.yaml that the schema does not list would be rejected on every install.
    defaults = load_chart(chart)
    try:
        defaults.validate_schema(defaults.values)
    finally:
        defaults.close()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"imagee": {"tag": "3.12"}}, "additional properties 'imagee' not allowed"),
        ({"storage": {"hostpath": {"path": "/x"}}}, "additional properties 'hostpath'"),
        ({"workflow": {"retry": {"limt": 2}}}, "additional properties 'limt'"),
        ({"resources": {"count": {"reqests": {}}}}, "additional properties 'reqests'"),
    ],
)
def test_mistyped_key_is_rejected(values, message):
    with pytest.raises(helm_python.HelmValuesError, match=message):
        render(values)


@pytest.mark.parametrize(
    ("values", "location"),
    [
        ({"job": {"numParts": "five"}}, "/job/numParts"),
        ({"schedule": {"enabled": "yes"}}, "/schedule/enabled"),
        ({"workflow": {"parallelism": 0}}, "/workflow/parallelism"),
        ({"compute": {"profile": "ec2"}}, "/compute/profile"),
        ({"compute": {"eci": {"useSpecs": "2-4Gi"}}}, "/compute/eci/useSpecs"),
        ({"podSecurityContext": {"runAsUser": 0}}, "/podSecurityContext/runAsUser"),
        ({"workflow": {"retry": {"backoff": {"duration": "ten"}}}}, "/workflow/retry/backoff"),
        ({"resources": {"count": {"limits": {"memory": "lots"}}}}, "/resources/count/limits"),
        ({"job": {"maxParts": logcount.LARGEST_MAX_PARTS + 1}}, "/job/maxParts"),
        ({"job": {"partSize": "64XB"}}, "/job/partSize"),
        ({"job": {"partSize": "0MiB"}}, "/job/partSize"),
        ({"job": {"partSize": "1.5GiB"}}, "/job/partSize"),
        ({"workflow": {"retry": {"backoff": {"maxDuration": "1d"}}}}, "/workflow/retry/backoff"),
    ],
)
def test_wrong_type_or_value_is_rejected_naming_the_key(values, location):
    with pytest.raises(helm_python.HelmValuesError, match=f"at '{location}"):
        render(values)


def test_max_parts_maximum_is_the_jobs():
    # The same bound split enforces: the shard id list must fit Argo's outputs.result.
    assert SCHEMA["properties"]["job"]["properties"]["maxParts"]["maximum"] == (
        logcount.LARGEST_MAX_PARTS
    )
    render({"job": {"maxParts": logcount.LARGEST_MAX_PARTS}})


@pytest.mark.parametrize(
    "size", ["", "1", "64MiB", "500KB", "2 GiB", "1024b", " 3tib ", "7mb", "010KiB"]
)
def test_part_size_pattern_accepts_what_the_job_accepts(size):
    if size:  # empty means "not set": numParts decides
        logcount.parse_size(size, "--part-size")
    render({"job": {"partSize": size}})


@pytest.mark.parametrize("size", ["64XB", "0", "0MiB", "-1KiB", "1.5GiB", "MiB", "64 MiB x"])
def test_part_size_pattern_refuses_what_the_job_refuses(size):
    with pytest.raises(logcount.UsageError):
        logcount.parse_size(size, "--part-size")
    with pytest.raises(helm_python.HelmValuesError, match="at '/job/partSize"):
        render({"job": {"partSize": size}})
