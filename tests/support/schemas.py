"""Strict schema validation of rendered objects, the way an API server would do it.

Core Kubernetes objects are checked with kubernetes-validate in strict mode against one pinned
Kubernetes version. Argo objects are checked against Argo's own CustomResourceDefinitions, read
from ``$ARGO_CRD_DIR/<version>/``: the CRD's openAPIV3Schema with unknown fields made errors
(as with ``kubectl apply --validate=strict``), plus the CRD's CEL rules
(``x-kubernetes-validations``), which the v4 full CRDs use for cross-field checks.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import cel
import jsonschema
import kubernetes_validate
import pytest
import yaml

from common import argolines

# The Kubernetes version core objects are validated against (kind's node image runs this line).
KUBERNETES_VERSION = "1.34.0"
# The Argo lines the rendered objects must be valid for (common/argo-lines.json).
ARGO_VERSIONS = argolines.VALIDATED
ARGO_CRD_ENV = "ARGO_CRD_DIR"

_ARGO_CRD_FILES = {
    "Workflow": "argoproj.io_workflows.yaml",
    "WorkflowTemplate": "argoproj.io_workflowtemplates.yaml",
    "ClusterWorkflowTemplate": "argoproj.io_clusterworkflowtemplates.yaml",
    "CronWorkflow": "argoproj.io_cronworkflows.yaml",
}
# What the API server accepts in metadata on create (the CRD schema only says "type: object").
_METADATA_FIELDS = {"name", "generateName", "namespace", "labels", "annotations", "finalizers"}


class SchemaError(AssertionError):
    """An object does not validate; the message names the object and every violation."""


def argo_crd_dir() -> Path | None:
    """The directory holding one sub-directory of CRDs per Argo version, or None when unset."""
    value = os.environ.get(ARGO_CRD_ENV)
    return Path(value) if value else None


requires_argo_crds = pytest.mark.skipif(
    argo_crd_dir() is None,
    reason=f"${ARGO_CRD_ENV} is not set: Argo CRD validation needs the CRDs "
    f"(.ci/run sets {ARGO_CRD_ENV}=../shared/schemas/argo)",
)


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('name') or meta.get('generateName')}"


def is_argo(obj: dict[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).startswith("argoproj.io/")


def validate_kubernetes(obj: dict[str, Any]) -> None:
    """Validate a core Kubernetes object strictly (unknown fields are errors)."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = "/".join(str(p) for p in err.absolute_path) or "<root>"
        raise SchemaError(f"{describe(obj)}: {path}: {err.message}") from None


def validate_argo(obj: dict[str, Any], version: str) -> None:
    """Validate an Argo object against the CRD of ``version`` strictly, CEL rules included."""
    schema = _argo_schema(version, obj.get("kind"))
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(obj)
    ]
    unknown_meta = sorted(set(obj.get("metadata") or {}) - _METADATA_FIELDS)
    errors += [f"metadata/{key}: unknown field" for key in unknown_meta]
    errors += _cel_violations(schema, obj, "")
    if errors:
        raise SchemaError(f"{describe(obj)} (Argo {version}):\n  " + "\n  ".join(errors))


def validate_object(obj: dict[str, Any]) -> None:
    """Validate any rendered object: Argo objects against every Argo line, others as core."""
    if is_argo(obj):
        for version in ARGO_VERSIONS:
            validate_argo(obj, version)
    else:
        validate_kubernetes(obj)


@functools.cache
def _argo_schema(version: str, kind: str | None) -> dict[str, Any]:
    crd_dir = argo_crd_dir()
    if crd_dir is None:
        raise SchemaError(f"${ARGO_CRD_ENV} is not set; cannot validate Argo objects")
    if kind not in _ARGO_CRD_FILES:
        raise SchemaError(f"no Argo CRD for kind {kind!r}; known: {sorted(_ARGO_CRD_FILES)}")
    crd = yaml.load(
        (crd_dir / version / _ARGO_CRD_FILES[kind]).read_text(), Loader=yaml.CSafeLoader
    )
    (served,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return _strict(copy.deepcopy(served["schema"]["openAPIV3Schema"]))


def _strict(schema: Any) -> Any:
    """Make every object schema with listed properties reject fields it does not list."""
    if isinstance(schema, dict):
        for value in schema.values():
            _strict(value)
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        for value in schema:
            _strict(value)
    return schema


def _cel_violations(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Evaluate the CRD's CEL rules at every node of ``value`` that the schema describes."""
    found = []
    for rule in schema.get("x-kubernetes-validations", ()):
        if not cel.evaluate(rule["rule"], {"self": value}):
            found.append(f"{path or '<root>'}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            child_schema = properties.get(key, extra if isinstance(extra, dict) else None)
            if child_schema:
                found += _cel_violations(child_schema, child, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            found += _cel_violations(schema["items"], child, f"{path}/{index}")
    return found
