"""Config errors for the ackone keys not covered in tests/unit/test_config.py."""

from __future__ import annotations

import pytest

from infra.config import ConfigError, load


def ack(**keys):
    return load({"target": "ackone", **keys}, "ack", region="cn-hangzhou")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"ackone": {"argocdEnabled": True}},
            "ackone: unknown key(s) ['argocdEnabled']; allowed: ",
        ),
        (
            {"ackone": {"clusterName": "Argo_Fanout"}},
            "ackone.clusterName: 'Argo_Fanout' is not a cluster name",
        ),
        ({"ackone": {"publicApiServer": "yes"}}, "ackone.publicApiServer: 'yes' is not a boolean"),
        (
            {"ackone": {"zones": "cn-hangzhou-h,cn-hangzhou-i"}},
            "ackone.zones: 'cn-hangzhou-h,cn-hangzhou-i' is not a list",
        ),
        (
            {"ackone": {"scheduleMode": "cost-optimized", "priceLimit": "0.5/h"}},
            "ackone.priceLimit: '0.5/h' is not a decimal number > 0",
        ),
    ],
)
def test_bad_ackone_values(keys, message):
    with pytest.raises(ConfigError) as raised:
        ack(**keys)

    assert str(raised.value).startswith(message)


def test_parallelism_limit_is_what_the_vswitches_address():
    # Two /28 vSwitches: 2 * (16 - 4 reserved) - 16 headroom = 8 pods at once.
    small = {"vswitchCidrs": ["10.0.0.0/28", "10.0.0.16/28"]}

    assert ack(ackone=small, workload={"parallelism": 8}).default_job.parallelism == 8
    with pytest.raises(ConfigError, match=r"workload.parallelism: 9 is above the 8 pods"):
        ack(ackone=small, workload={"parallelism": 9})


def test_vswitches_too_small_for_any_pod_reject_every_parallelism():
    tiny = {"vswitchCidrs": ["10.0.0.0/29", "10.0.0.8/29"]}

    with pytest.raises(ConfigError, match=r"workload.parallelism: 1 is above the 0 pods"):
        ack(ackone=tiny, workload={"parallelism": 1})
    # Every job is bounded, the chart's default width included.
    with pytest.raises(ConfigError, match=r"^jobs.log-count.parallelism: 50 is above the 0 pods"):
        ack(ackone=tiny)
    with pytest.raises(ConfigError, match=r"^jobs.hello-world.parallelism: 9 is above the 8"):
        ack(
            ackone={"vswitchCidrs": ["10.0.0.0/28", "10.0.0.16/28"]},
            workload={"parallelism": 8},
            jobs={"hello-world": {"parallelism": 9}},
        )
