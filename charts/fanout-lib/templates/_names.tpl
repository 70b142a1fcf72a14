{{/*
fanout.name: the chart name, or nameOverride; a DNS label (63 characters at most).
*/}}
{{- define "fanout.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
fanout.fullname: the prefix of every resource name: fullnameOverride, else
"<release>-<name>" (just the release when it already contains the name), cut to 63 characters.
*/}}
{{- define "fanout.fullname" -}}
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
fanout.resourceName: "<fullname>-<suffix>" for a chart's secondary objects, cut to 63
characters. Call with (list $ "suffix").
*/}}
{{- define "fanout.resourceName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $prefix := include "fanout.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix $suffix }}
{{- end }}

{{/*
fanout.chart: chart name and version, the value of the helm.sh/chart label.
*/}}
{{- define "fanout.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
fanout.selectorLabels: the labels that identify a release's objects and pods.
*/}}
{{- define "fanout.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fanout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
fanout.labels: the standard app.kubernetes.io/* labels plus commonLabels, for every object.
*/}}
{{- define "fanout.labels" -}}
helm.sh/chart: {{ include "fanout.chart" . }}
{{ include "fanout.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: argo-fanout
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
fanout.templateName: a job's WorkflowTemplate name: templateName, else the fullname.
*/}}
{{- define "fanout.templateName" -}}
{{- default (include "fanout.fullname" .) .Values.templateName | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
fanout.cronWorkflowName: a job's CronWorkflow name, cut to the 52 characters Argo allows (it
appends a timestamp to name each run).
*/}}
{{- define "fanout.cronWorkflowName" -}}
{{- include "fanout.templateName" . | trunc 52 | trimSuffix "-" }}
{{- end }}
