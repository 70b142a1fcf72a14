"""The argo-fanout Pulumi program, wired by infra.platform.

targets/ declares each cluster target (one module each, behind targets/contracts.py); their
components are cluster.py (kind, existing) and ackone/. ComponentResources also hold the Argo
install (argo.py) and the workload (workload.py). storage.py and compute.py are plain functions
that compute the log-count chart's storage.* and compute.* values; config.py reads and validates
all config.
"""
