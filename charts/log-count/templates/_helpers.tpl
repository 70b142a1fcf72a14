{{/*
log-count's own helpers; the shared ones (names, labels, the step container, volumes, retry
strategy, workflow spec) come from the fanout-lib library chart (charts/fanout-lib).
*/}}

{{/*
log-count.codeConfigMapName: the ConfigMap that ships the job scripts.
*/}}
{{- define "log-count.codeConfigMapName" -}}
{{- include "fanout.resourceName" (list . "code") }}
{{- end }}

{{/*
log-count.validate: the shared rules (fanout.validate) plus log-count's cross-field rules the
values schema cannot express; fails naming the key, the value and what is allowed. Included by
every template that depends on them.
*/}}
{{- define "log-count.validate" -}}
{{- include "fanout.validate" . }}
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
{{- end }}

{{/*
log-count.workdir: the per-run work directory on the volume, so concurrent runs never share
intermediate files.
*/}}
{{- define "log-count.workdir" -}}
{{ .Values.platform.mountPath }}/runs/{{ `{{workflow.name}}` }}
{{- end }}

{{/*
log-count.resultPath: where merge writes the verified result of a run.
*/}}
{{- define "log-count.resultPath" -}}
{{ include "log-count.workdir" . }}/result.json
{{- end }}

{{/*
log-count.step: one container template running /opt/log-count/<name>.py (fanout.step with the
job's image, the script named after the template, and the code ConfigMap mounted read-only).
Call with (dict "root" $ "name" "split" "args" (list ...) "resources" (map)) plus optional
"inputs" and "outputs" maps.
*/}}
{{- define "log-count.step" -}}
{{- $step := merge (dict
      "image" .root.Values.image
      "command" (list "python" (printf "/opt/log-count/%s.py" .name))
      "env" (list (dict "name" "PYTHONDONTWRITEBYTECODE" "value" "1") (dict "name" "PYTHONUNBUFFERED" "value" "1"))
      "mounts" (list (dict "name" "code" "mountPath" "/opt/log-count" "readOnly" true))) . }}
{{- include "fanout.step" $step }}
{{- end }}
