"""The log-count chart's `compute.*` values: where pods run (plain nodes, ECI or ACS).

The chart maps them to pod annotations/labels (k8s.aliyun.com/eci-*, alibabacloud.com/compute-*);
only the options the config sets are passed, so the chart's own defaults stay in force.
"""

from __future__ import annotations

from typing import Any

from infra.config import ComputeConfig


def compute_values(compute: ComputeConfig) -> dict[str, Any]:
    values: dict[str, Any] = {"profile": compute.profile}
    if compute.eci is not None:
        eci = compute.eci
        values["eci"] = set_only(
            useSpecs=list(eci.use_specs) if eci.use_specs else None,
            spotStrategy=eci.spot_strategy,
            spotPriceLimit=eci.spot_price_limit,
            imageCache=eci.image_cache,
            extraEphemeralStorage=eci.extra_ephemeral_storage,
        )
    if compute.acs is not None:
        values["acs"] = set_only(
            computeClass=compute.acs.compute_class, computeQos=compute.acs.compute_qos
        )
    return values


def set_only(**values: Any) -> dict[str, Any]:
    """The given values without the unset (None) ones, so chart defaults stay in force."""
    return {key: value for key, value in values.items() if value is not None}
