"""The ACK One target: network, workflow cluster (managed Argo), its features, OSS/NAS volumes.

`AckOne` (infra/ackone/target.py) is loaded on first use: the dynamic providers import
`infra.ackone.hub` in the engine's provider process, which needs neither
pulumi_alicloud nor pulumi_kubernetes.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "AckOne":
        from infra.ackone.target import AckOne

        return AckOne
    raise AttributeError(f"module 'infra.ackone' has no attribute {name!r}")
