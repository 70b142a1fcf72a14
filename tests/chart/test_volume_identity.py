"""Day 2 for the chart's volume: the PV and claim names change with what they cannot change.

A PV's volume source and a statically bound claim's spec (its size included: only dynamically
provisioned claims can grow) are immutable, so `helm upgrade` fails on a changed storage.size,
OSS/NAS setting or step uid unless the objects get new names. infra/workload.py mirrors the name
for the `volumeClaim` output; these tests keep the two equal.
"""

from __future__ import annotations

import pytest

from infra.workload import claim_name
from tests.chart.scenarios import (
    NAMESPACE,
    RELEASE,
    only,
    render,
    render_scenario,
    scenario_names,
    scenario_values,
)
from workflows.chart import merge_values

OSS = {
    "type": "oss",
    "oss": {"bucket": "logs", "url": "oss-cn-beijing-internal.aliyuncs.com", "secretName": "ak"},
}
NAS = {"type": "nas", "nas": {"server": "abc.cn-beijing.nas.aliyuncs.com", "path": "/share"}}
BASES = {"hostPath": {"type": "hostPath"}, "oss": OSS, "nas": NAS}
# Changes of an immutable field, per storage type: each must rename the PV and the claim.
IMMUTABLE = {
    "hostPath": [
        {"storage": {"size": "20Gi"}},
        {"storage": {"hostPath": {"path": "/srv/other"}}},
    ],
    "oss": [
        {"storage": {"size": "20Gi"}},
        {"storage": {"oss": {"bucket": "other"}}},
        {"storage": {"oss": {"url": "oss-cn-hangzhou-internal.aliyuncs.com"}}},
        {"storage": {"oss": {"path": "/team"}}},
        {"storage": {"oss": {"otherOpts": "-o allow_other"}}},
        {"storage": {"oss": {"fuseType": "ossfs2"}}},
        {"storage": {"oss": {"secretName": "other"}}},
        {"podSecurityContext": {"runAsUser": 2000}},  # the uid ossfs presents files as
        {"podSecurityContext": {"runAsGroup": 2000}},
    ],
    "nas": [
        {"storage": {"size": "20Gi"}},
        {"storage": {"nas": {"server": "def.cn-beijing.nas.aliyuncs.com"}}},
        {"storage": {"nas": {"path": "/other"}}},
    ],
}
# Changes the objects take in place: the names stay.
MUTABLE = [
    {"storage": {"reclaimPolicy": "Delete"}},
    {"workflow": {"parallelism": 3}},
    {"commonLabels": {"team": "a"}},
]


def names(values):
    objects = render(values)
    volume, claim = only(objects, "PersistentVolume"), only(objects, "PersistentVolumeClaim")
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    return volume["metadata"]["name"], claim["metadata"]["name"]


@pytest.mark.parametrize(
    ("kind", "change"),
    [(kind, change) for kind, changes in IMMUTABLE.items() for change in changes],
)
def test_an_immutable_change_renames_volume_and_claim(kind, change):
    base = {"storage": BASES[kind]}
    before, after = names(base), names(merge_values(base, change))
    assert before[0] != after[0] and before[1] != after[1]


@pytest.mark.parametrize("kind", list(BASES))
@pytest.mark.parametrize("change", MUTABLE)
def test_a_mutable_change_keeps_the_names(kind, change):
    base = {"storage": BASES[kind]}
    assert names(base) == names(merge_values(base, change))


def _python_values(values):
    """What infra/workload.py's claim_name sees: the program always sets fullnameOverride."""
    return merge_values({"fullnameOverride": RELEASE, "storage": {}}, values)


@pytest.mark.parametrize(
    "values",
    [{"storage": base} for base in BASES.values()]
    + [
        merge_values({"storage": BASES[kind]}, change)
        for kind, changes in IMMUTABLE.items()
        for change in changes
    ],
)
def test_the_program_names_the_claim_as_the_chart_does(values):
    values = _python_values(values)
    assert claim_name(values) == names(values)[1]


@pytest.mark.parametrize("scenario", scenario_names())
def test_the_program_names_every_scenario_claim_as_the_chart_does(scenario):
    claims = [o for o in render_scenario(scenario) if o["kind"] == "PersistentVolumeClaim"]
    values = _python_values(scenario_values(scenario))
    expected = claim_name(values)
    if claims:
        assert [c["metadata"]["name"] for c in claims] == [expected]


def test_a_long_name_is_cut_and_stays_unique():
    long = {"fullnameOverride": "x" * 60, "storage": BASES["hostPath"]}
    volume, claim = names(long)
    assert len(volume) <= 63 and len(claim) <= 63
    assert claim == claim_name(_python_values(long))
    assert volume != names(merge_values(long, {"storage": {"size": "1Gi"}}))[0]
    assert NAMESPACE  # rendered into the namespace the scenarios use
