{{/*
fanout.validate: the rules of a job chart's shared values that the schema cannot express (the
platform block given; a schedule with a cron), failing with the key, the value and what is
allowed. Each job chart includes it from every template that depends on them.
*/}}
{{- define "fanout.validate" -}}
{{- include "fanout.validatePlatform" . }}
{{- if and .Values.schedule.enabled (not .Values.schedule.cron) }}
{{- fail "schedule.cron is empty while schedule.enabled is true: give a cron expression, e.g. \"0 3 * * *\"" }}
{{- end }}
{{- end }}

{{/*
fanout.workflowSpec: the fields of a job's WorkflowTemplate spec every job shares, after its
entrypoint: run labels, the platform's ServiceAccount (its token only in the executor's
containers), the run's deadline, pod and run garbage collection, image pull secrets.
*/}}
{{- define "fanout.workflowSpec" -}}
{{- /* So the runs of this template can be listed by label, however they were submitted. */}}
workflowMetadata:
  labels:
    {{- include "fanout.selectorLabels" . | nindent 4 }}
serviceAccountName: {{ .Values.platform.serviceAccountName }}
{{- /* The steps never call the API server: no token in their pods. Argo's executor still
reports results with the account's token, which the controller mounts from its token Secret
into the executor's containers only (Argo's executor.serviceAccountName). */}}
automountServiceAccountToken: false
executor:
  serviceAccountName: {{ .Values.platform.serviceAccountName }}
activeDeadlineSeconds: {{ .Values.workflow.activeDeadlineSeconds }}
{{- with .Values.workflow.podGC }}
{{- if .strategy }}
podGC:
  strategy: {{ .strategy }}
  {{- with .deleteDelayDuration }}
  deleteDelayDuration: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end }}
{{- with .Values.workflow.ttlStrategy }}
ttlStrategy:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
fanout.cronWorkflow: a CronWorkflow running the job's WorkflowTemplate on schedule.cron (never
two runs at once), when schedule.enabled.
*/}}
{{- define "fanout.cronWorkflow" -}}
{{- with .Values.schedule }}
{{- if .enabled }}
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: {{ include "fanout.cronWorkflowName" $ }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "fanout.labels" $ | nindent 4 }}
spec:
  {{- /* schedules (a list) is what v4 requires; v3.6+ knows it too. */}}
  schedules:
    - {{ .cron | quote }}
  {{- with .timezone }}
  timezone: {{ . | quote }}
  {{- end }}
  concurrencyPolicy: Forbid
  workflowSpec:
    workflowTemplateRef:
      name: {{ include "fanout.templateName" $ }}
{{- end }}
{{- end }}
{{- end }}

{{/*
fanout.extraObjects: the objects listed in extraObjects, as YAML maps or strings, through tpl.
*/}}
{{- define "fanout.extraObjects" -}}
{{- range .Values.extraObjects }}
---
{{ tpl (ternary . (toYaml .) (kindIs "string" .)) $ }}
{{- end }}
{{- end }}
