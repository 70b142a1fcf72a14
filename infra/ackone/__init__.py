"""The ACK One target: network, workflow cluster (managed Argo), its features, OSS/NAS volumes."""
