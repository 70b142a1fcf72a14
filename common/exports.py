"""Names of the stack outputs: the contract between the Pulumi program and `python -m workflows`."""

TARGET = "target"
KUBECONFIG = "kubeconfig"  # secret
ARGO_NAMESPACE = "argoNamespace"
WORKLOAD_NAMESPACE = "workloadNamespace"
WORKFLOW_TEMPLATE = "workflowTemplate"
VOLUME_CLAIM = "volumeClaim"
SUBMIT_COMMAND = "submitCommand"
DATA_DIR = "dataDir"  # the volume's directory on this machine (kind hostPath; storage.localDir)
OSS_BUCKET = "ossBucket"  # ackone with OSS storage
OSS_ENDPOINT = "ossEndpoint"  # ackone with OSS storage: the public endpoint, for uploads
OSS_PATH = "ossPath"  # ackone with OSS storage: the bucket directory the volume mounts
