{{/*
fanout.image: an image reference "<registry>/<repository>:<tag>" ("<repository>:<tag>" when the
registry is empty). Call with the image map ({registry, repository, tag}).
*/}}
{{- define "fanout.image" -}}
{{- if .registry }}
{{- printf "%s/%s:%s" .registry .repository .tag }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}

{{/*
fanout.podMetadata: metadata of every step pod: the selector labels, plus the ECI annotations
that are set or the ACS labels, per platform.compute.profile.
*/}}
{{- define "fanout.podMetadata" -}}
{{- $labels := include "fanout.selectorLabels" . | fromYaml }}
{{- $annotations := dict }}
{{- $compute := .Values.platform.compute }}
{{- if eq $compute.profile "eci" }}
{{- with $compute.eci }}
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
{{- else if eq $compute.profile "acs" }}
{{- with $compute.acs }}
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
fanout.podSecurityContext: the pod-level security context of every step: non-root as the
platform's user and group (the shared volume is writable by them), RuntimeDefault seccomp.
*/}}
{{- define "fanout.podSecurityContext" -}}
runAsNonRoot: true
{{- with .Values.platform.podSecurityContext }}
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
fanout.containerSecurityContext: the container-level security context of every step: what
Pod Security `restricted` asks for, plus a read-only root filesystem.
*/}}
{{- define "fanout.containerSecurityContext" -}}
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
fanout.retryStrategy: the retry strategy of every step, from workflow.retry. retryPolicy
Always, since a reclaimed spot pod ends as Failed; exit codes listed in
workflow.retry.noRetryExitCodes (a job's usage errors, which no retry can fix) fail the step at
once through `expression` (Argo's lastRetry.exitCode is a string, "-1" when the pod never
reported one). backoff uses only fields every supported Argo line knows (no cap), and
maxDuration only when set.
*/}}
{{- define "fanout.retryStrategy" -}}
{{- with .Values.workflow.retry -}}
limit: {{ .limit }}
retryPolicy: Always
{{- with .noRetryExitCodes }}
{{- $clauses := list }}
{{- range . }}
{{- $clauses = append $clauses (printf "lastRetry.exitCode != \"%d\"" (int .)) }}
{{- end }}
expression: {{ join " && " $clauses | squote }}
{{- end }}
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
fanout.step: one container template of a job. Call with
(dict "root" $ "name" "split" "image" .Values.image "command" (list ...) "args" (list ...)
"resources" (map)) plus optional "env" (list), "inputs" and "outputs" (maps), "mounts" (extra
volumeMounts between data and tmp). Every step gets the platform's pod metadata (compute
profile), the restricted security contexts, the retry strategy, the shared volume at
platform.mountPath and an emptyDir /tmp; a failed step's last log lines become the node's
message (terminationMessagePolicy FallbackToLogsOnError).
*/}}
{{- define "fanout.step" -}}
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
    {{- include "fanout.podMetadata" $root | nindent 4 }}
  securityContext:
    {{- include "fanout.podSecurityContext" $root | nindent 4 }}
  retryStrategy:
    {{- include "fanout.retryStrategy" $root | nindent 4 }}
  container:
    image: {{ include "fanout.image" .image | quote }}
    imagePullPolicy: {{ .image.pullPolicy }}
    {{- /* A failed step's last log lines (its one-line error) become the node's message. */}}
    terminationMessagePolicy: FallbackToLogsOnError
    command:
      {{- toYaml .command | nindent 6 }}
    {{- with .args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .env }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "fanout.containerSecurityContext" $root | nindent 6 }}
    volumeMounts:
      {{- include "fanout.volumeMounts" (dict "root" $root "extra" .mounts) | nindent 6 }}
{{- end }}
