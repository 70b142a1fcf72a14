"""The argo-fanout Pulumi program, wired by infra.platform.

ComponentResources: the cluster targets (cluster.py, ackone/), the Argo install (argo.py) and the
workload (workload.py). storage.py and compute.py are plain functions that compute the log-count
chart's storage.* and compute.* values; config.py reads and validates all config.
"""
