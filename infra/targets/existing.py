"""Target `existing`: a cluster someone else runs, reached through a kubeconfig; Argo installed
by the program unless argo.install is false. The stack never owns the cluster, so a claim or
NAS share it mounts is the user's, and storage.localDir may say where this machine sees it.
The component is infra/cluster.py's ExistingCluster."""

from infra.targets.contracts import TargetSpec

SPEC = TargetSpec(
    name="existing",
    fields=("kubeconfig", "context"),
    storage_types=("existingClaim", "nas"),
    compute_profiles=("none", "eci", "acs"),
    default_compute="none",
    argo_manager=None,
    owns_cluster=False,
    component="infra.cluster:build_existing",
    local_dir=True,
    nas_server="required",
)
