{{/*
log-count.name: the chart name, or nameOverride; a DNS label (63 characters at most).
*/}}
{{- define "log-count.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
log-count.fullname: the prefix of every resource name: fullnameOverride, else
"<release>-<name>" (just the release when it already contains the name), cut to 63 characters.
*/}}
{{- define "log-count.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
log-count.resourceName: "<fullname>-<suffix>" for the chart's secondary objects, cut to 63
characters. Call with (list $ "suffix").
*/}}
{{- define "log-count.resourceName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $prefix := include "log-count.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix $suffix }}
{{- end }}

{{/*
log-count.chart: chart name and version, the value of the helm.sh/chart label.
*/}}
{{- define "log-count.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
log-count.selectorLabels: the labels that identify this release's objects and pods.
*/}}
{{- define "log-count.selectorLabels" -}}
app.kubernetes.io/name: {{ include "log-count.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
log-count.labels: the standard app.kubernetes.io/* labels plus commonLabels, for every object.
*/}}
{{- define "log-count.labels" -}}
helm.sh/chart: {{ include "log-count.chart" . }}
{{ include "log-count.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: argo-fanout
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
log-count.templateName: the WorkflowTemplate's name: templateName, else the fullname.
*/}}
{{- define "log-count.templateName" -}}
{{- default (include "log-count.fullname" .) .Values.templateName | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
log-count.cronWorkflowName: the CronWorkflow's name, cut to the 52 characters Argo allows (it
appends a timestamp to name each run).
*/}}
{{- define "log-count.cronWorkflowName" -}}
{{- include "log-count.templateName" . | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/*
log-count.serviceAccountName: the account the steps run as: serviceAccount.name, else the
fullname when the chart creates it; an existing account must be named.
*/}}
{{- define "log-count.serviceAccountName" -}}
{{- if .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.create }}
{{- include "log-count.fullname" . }}
{{- else }}
{{- fail "serviceAccount.name is empty while serviceAccount.create is false: name the existing ServiceAccount the steps run as (it needs workflowtaskresults create and patch in argoproj.io)" }}
{{- end }}
{{- end }}

{{/*
log-count.codeConfigMapName: the ConfigMap that ships the job scripts.
*/}}
{{- define "log-count.codeConfigMapName" -}}
{{- include "log-count.resourceName" (list . "code") }}
{{- end }}

{{/*
log-count.ossOtherOpts: the ossfs options the OSS PV mounts with: storage.oss.otherOpts plus the
steps' uid and gid (ossfs shows files as root-owned 0640 unless told otherwise).
*/}}
{{- define "log-count.ossOtherOpts" -}}
{{- printf "%s -o uid=%d -o gid=%d" .Values.storage.oss.otherOpts (int .Values.podSecurityContext.runAsUser) (int .Values.podSecurityContext.runAsGroup) | trim }}
{{- end }}

{{/*
log-count.volumeIdentity: 8 hex digits of a SHA-256 over what the PV and its claim cannot change
once created: the storage type, the size the claim requests, and the PV's volume source (hostPath
path; OSS bucket, endpoint, path, mount options with the steps' uid/gid, fuse type and Secret;
NAS server and path), one per line. The PV and claim names carry it, so a change of any of these
makes `helm upgrade` create a new pair and delete the old one instead of failing on an immutable
field. infra/workload.py computes the same (volume_identity) for the claim name it exports.
*/}}
{{- define "log-count.volumeIdentity" -}}
{{- $storage := .Values.storage }}
{{- $parts := list $storage.type (toString $storage.size) }}
{{- if eq $storage.type "hostPath" }}
{{- $parts = append $parts $storage.hostPath.path }}
{{- else if eq $storage.type "oss" }}
{{- with $storage.oss }}
{{- $parts = concat $parts (list .bucket .url .path (include "log-count.ossOtherOpts" $) .fuseType .secretName) }}
{{- end }}
{{- else if eq $storage.type "nas" }}
{{- $parts = concat $parts (list $storage.nas.server $storage.nas.path) }}
{{- end }}
{{- join "\n" $parts | sha256sum | trunc 8 }}
{{- end }}

{{/*
log-count.volumeName: the PersistentVolume's name. PVs are cluster-scoped, so the name joins
namespace, fullname and the volume identity; when that is too long it is cut and a hash of all
three keeps it unique. (helm lint renders with an empty namespace, hence the trimPrefix.)
*/}}
{{- define "log-count.volumeName" -}}
{{- $identity := include "log-count.volumeIdentity" . }}
{{- $full := printf "%s-%s-data-%s" .Release.Namespace (include "log-count.fullname" .) $identity | trimPrefix "-" }}
{{- if le (len $full) 63 }}
{{- $full }}
{{- else }}
{{- $hash := printf "%s/%s/%s" .Release.Namespace (include "log-count.fullname" .) $identity | sha256sum | trunc 8 }}
{{- printf "%s-%s" ($full | trunc 54 | trimSuffix "-") $hash }}
{{- end }}
{{- end }}

{{/*
log-count.claimName: the PersistentVolumeClaim the steps mount: storage.existingClaim with
type existingClaim, else the one the chart renders, "<fullname>-data-<volume identity>".
*/}}
{{- define "log-count.claimName" -}}
{{- if eq .Values.storage.type "existingClaim" }}
{{- .Values.storage.existingClaim }}
{{- else }}
{{- include "log-count.resourceName" (list . (printf "data-%s" (include "log-count.volumeIdentity" .))) }}
{{- end }}
{{- end }}

{{/*
log-count.validate: the cross-field rules the values schema cannot express; fails naming the
key, the value and what is allowed. Included by every template that depends on them.
*/}}
{{- define "log-count.validate" -}}
{{- $storage := .Values.storage }}
{{- $types := list "hostPath" "oss" "nas" "existingClaim" }}
{{- if not (has $storage.type $types) }}
{{- fail (printf "storage.type %q is not supported: use one of %s" $storage.type (join ", " $types)) }}
{{- end }}
{{- if eq $storage.type "oss" }}
{{- range $key := list "bucket" "url" "secretName" }}
{{- if not (get $storage.oss $key) }}
{{- fail (printf "storage.oss.%s is empty: storage.type oss needs storage.oss.bucket, storage.oss.url and storage.oss.secretName (a Secret with keys akId and akSecret)" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $storage.type "nas") (not $storage.nas.server) }}
{{- fail "storage.nas.server is empty: storage.type nas needs the NAS mount target domain" }}
{{- end }}
{{- if and (eq $storage.type "existingClaim") (not $storage.existingClaim) }}
{{- fail "storage.existingClaim is empty: storage.type existingClaim needs the name of a ReadWriteMany PersistentVolumeClaim in the release namespace" }}
{{- end }}
{{- if and (eq $storage.type "hostPath") (eq .Values.compute.profile "eci") }}
{{- fail "storage.type hostPath cannot be used with compute.profile eci: ECI pods cannot mount hostPath volumes; use oss, nas or existingClaim" }}
{{- end }}
{{- $eci := .Values.compute.eci }}
{{- if and (eq .Values.compute.profile "eci") (eq $eci.spotStrategy "SpotWithPriceLimit") (not $eci.spotPriceLimit) }}
{{- fail "compute.eci.spotPriceLimit is empty: compute.eci.spotStrategy SpotWithPriceLimit needs the highest hourly price, e.g. \"0.5\"" }}
{{- end }}
{{- if and $eci.spotPriceLimit (ne $eci.spotStrategy "SpotWithPriceLimit") }}
{{- fail (printf "compute.eci.spotPriceLimit %q is set but compute.eci.spotStrategy is %q: a price limit applies only to SpotWithPriceLimit" $eci.spotPriceLimit $eci.spotStrategy) }}
{{- end }}
{{- $job := .Values.job }}
{{- if gt (int $job.numParts) (int $job.maxParts) }}
{{- fail (printf "job.numParts %d is above job.maxParts %d: split refuses --parts above --max-parts, so every run would fail; lower job.numParts or raise job.maxParts" (int $job.numParts) (int $job.maxParts)) }}
{{- end }}
{{- $seen := dict }}
{{- range $keyword := splitList "," (toString $job.keywords) }}
{{- if hasKey $seen $keyword }}
{{- fail (printf "job.keywords %q lists %q twice: give each keyword once (split refuses duplicates, so every run would fail)" $job.keywords $keyword) }}
{{- end }}
{{- $_ := set $seen $keyword true }}
{{- end }}
{{- if and .Values.schedule.enabled (not .Values.schedule.cron) }}
{{- fail "schedule.cron is empty while schedule.enabled is true: give a cron expression, e.g. \"0 3 * * *\"" }}
{{- end }}
{{- end }}

{{/*
log-count.image: the step image reference "<registry>/<repository>:<tag>".
*/}}
{{- define "log-count.image" -}}
{{- with .Values.image }}
{{- if .registry }}
{{- printf "%s/%s:%s" .registry .repository .tag }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}
{{- end }}

{{/*
log-count.workdir: the per-run work directory on the volume, so concurrent runs never share
intermediate files.
*/}}
{{- define "log-count.workdir" -}}
{{ .Values.storage.mountPath }}/runs/{{ `{{workflow.name}}` }}
{{- end }}

{{/*
log-count.resultPath: where merge writes the verified result of a run.
*/}}
{{- define "log-count.resultPath" -}}
{{ include "log-count.workdir" . }}/result.json
{{- end }}

{{/*
log-count.podMetadata: metadata of every step pod: the selector labels, plus the ECI
annotations that are set or the ACS labels, per compute.profile.
*/}}
{{- define "log-count.podMetadata" -}}
{{- $labels := include "log-count.selectorLabels" . | fromYaml }}
{{- $annotations := dict }}
{{- if eq .Values.compute.profile "eci" }}
{{- with .Values.compute.eci }}
{{- if .useSpecs }}
{{- $_ := set $annotations "k8s.aliyun.com/eci-use-specs" (join "," .useSpecs) }}
{{- end }}
{{- if .spotStrategy }}
{{- $_ := set $annotations "k8s.aliyun.com/eci-spot-strategy" .spotStrategy }}
{{- end }}
{{- if .spotPriceLimit }}
{{- $_ := set $annotations "k8s.aliyun.com/eci-spot-price-limit" .spotPriceLimit }}
{{- end }}
{{- if .imageCache }}
{{- $_ := set $annotations "k8s.aliyun.com/eci-image-cache" "true" }}
{{- end }}
{{- if .extraEphemeralStorage }}
{{- $_ := set $annotations "k8s.aliyun.com/eci-extra-ephemeral-storage" .extraEphemeralStorage }}
{{- end }}
{{- end }}
{{- else if eq .Values.compute.profile "acs" }}
{{- with .Values.compute.acs }}
{{- if .computeClass }}
{{- $_ := set $labels "alibabacloud.com/compute-class" .computeClass }}
{{- end }}
{{- if .computeQos }}
{{- $_ := set $labels "alibabacloud.com/compute-qos" .computeQos }}
{{- end }}
{{- end }}
{{- end -}}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
log-count.podSecurityContext: the pod-level security context of every step.
*/}}
{{- define "log-count.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.podSecurityContext }}
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
{{- if hasKey . "fsGroup" }}
fsGroup: {{ .fsGroup }}
fsGroupChangePolicy: OnRootMismatch
{{- end }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
log-count.containerSecurityContext: the container-level security context of every step.
*/}}
{{- define "log-count.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
log-count.retryStrategy: the retry strategy of every step. retryPolicy Always, since a reclaimed
spot pod ends as Failed; the expression then leaves out the job's usage exit code 2 (bad
parameters or input, which no retry can fix), so evicted, deleted or OOM-killed pods, node and
I/O failures are retried and a typo fails at once. Argo's lastRetry.exitCode is a string ("-1"
when the pod never reported one). backoff uses only fields every supported Argo line knows (no
cap), and maxDuration only when set.
*/}}
{{- define "log-count.retryStrategy" -}}
{{- with .Values.workflow.retry -}}
limit: {{ .limit }}
retryPolicy: Always
expression: 'lastRetry.exitCode != "2"'
backoff:
  duration: {{ .backoff.duration | quote }}
  factor: {{ .backoff.factor }}
  {{- /* Unset unless asked for: Argo stops retrying past it, and kills retried pods there. */}}
  {{- with .backoff.maxDuration }}
  maxDuration: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
log-count.step: one container template running /opt/log-count/<name>.py. Call with
(dict "root" $ "name" "split" "args" (list ...) "resources" (map)) plus optional "inputs" and
"outputs" maps; the script is named after the template.
*/}}
{{- define "log-count.step" -}}
{{- $root := .root -}}
- name: {{ .name }}
  {{- with .inputs }}
  inputs:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .outputs }}
  outputs:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  metadata:
    {{- include "log-count.podMetadata" $root | nindent 4 }}
  securityContext:
    {{- include "log-count.podSecurityContext" $root | nindent 4 }}
  retryStrategy:
    {{- include "log-count.retryStrategy" $root | nindent 4 }}
  container:
    image: {{ include "log-count.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    {{- /* A failed step's last log lines (its one-line error) become the node's message. */}}
    terminationMessagePolicy: FallbackToLogsOnError
    command:
      - python
      - /opt/log-count/{{ .name }}.py
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      - name: PYTHONDONTWRITEBYTECODE
        value: "1"
      - name: PYTHONUNBUFFERED
        value: "1"
    {{- with .resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "log-count.containerSecurityContext" $root | nindent 6 }}
    volumeMounts:
      - name: data
        mountPath: {{ $root.Values.storage.mountPath }}
      - name: code
        mountPath: /opt/log-count
        readOnly: true
      - name: tmp
        mountPath: /tmp
{{- end }}
