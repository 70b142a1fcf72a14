"""Names of the stack outputs: the contract between the Pulumi program and `python -m workflows`."""

TARGET = "target"
KUBECONFIG = "kubeconfig"  # secret
ARGO_NAMESPACE = "argoNamespace"
WORKLOAD_NAMESPACE = "workloadNamespace"
# The default job's (log-count's) WorkflowTemplate, and every job's: {job name: template name}.
WORKFLOW_TEMPLATE = "workflowTemplate"
WORKFLOW_TEMPLATES = "workflowTemplates"
# The job config's default entry: what the run commands submit without --template.
DEFAULT_JOB = "log-count"
VOLUME_CLAIM = "volumeClaim"
SUBMIT_COMMAND = "submitCommand"
DATA_DIR = "dataDir"  # the volume's directory on this machine (kind hostPath; storage.localDir)
OSS_BUCKET = "ossBucket"  # ackone with OSS storage
OSS_ENDPOINT = "ossEndpoint"  # ackone with OSS storage: the public endpoint, for uploads
OSS_PATH = "ossPath"  # ackone with OSS storage: the bucket directory the volume mounts
# How `python -m workflows submit/ephemeral --input` reaches the volume (the run commands
# dispatch on this, never on the target's name): copy into dataDir, upload to the OSS bucket
# (ossBucket/ossEndpoint/ossPath), or no way from here (the user places the input).
INPUT_STAGING = "inputStaging"
STAGING_LOCAL_DIR = "localDir"
STAGING_OBJECT_STORE = "objectStore"
STAGING_NONE = "none"
STAGINGS = (STAGING_LOCAL_DIR, STAGING_OBJECT_STORE, STAGING_NONE)
# Whether the stack created the cluster (destroy deletes it, with everything in it) or reaches
# one it never owned (destroy leaves the cluster, its CRDs and the user's data).
OWNS_CLUSTER = "ownsCluster"
