"""The ACK One target: network, workflow cluster (managed Argo), its features, OSS/NAS volumes.

`AckOne` lives in infra/ackone/target.py. This package module imports nothing: the dynamic
providers import `infra.ackone.hub` in the engine's provider process, which needs neither
pulumi_alicloud nor pulumi_kubernetes.
"""
