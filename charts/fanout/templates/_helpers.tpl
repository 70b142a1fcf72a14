{{/*
The fanout chart's own helpers (named fanout.job.*: the library's are fanout.*); the shared ones
(names, labels, the step container, volumes, retry strategy, workflow spec) come from the
fanout-lib library chart (charts/fanout-lib).
*/}}

{{/*
fanout.job.workdir: the run's own directory on the shared volume (FANOUT_WORKDIR).
*/}}
{{- define "fanout.job.workdir" -}}
{{ .Values.platform.mountPath }}/runs/{{ `{{workflow.name}}` }}
{{- end }}

{{/*
fanout.job.step: one of the steps split, map, reduce from .Values.steps.<name> (fanout.step
with the step's image over `image`, its command, args and env, the FANOUT_* variables, and
"{{item}}" in map's strings turned into its input parameter). Call with (dict "root" $ "name"
"map") plus optional "inputs" and "outputs" maps.
*/}}
{{- define "fanout.job.step" -}}
{{- $root := .root }}
{{- $step := index $root.Values.steps .name }}
{{- $workdir := include "fanout.job.workdir" $root }}
{{- $env := list (dict "name" "FANOUT_WORKDIR" "value" $workdir) (dict "name" "FANOUT_MAP_DIR" "value" (printf "%s/map" $workdir)) }}
{{- if eq .name "map" }}
{{- $env = append $env (dict "name" "FANOUT_ITEM" "value" "{{item}}") }}
{{- end }}
{{- $env = concat $env $step.env }}
{{- $item := ternary "{{inputs.parameters.item}}" "{{item}}" (eq .name "map") }}
{{- $command := list }}
{{- range $step.command }}{{ $command = append $command (replace "{{item}}" $item .) }}{{ end }}
{{- $args := list }}
{{- range $step.args }}{{ $args = append $args (replace "{{item}}" $item .) }}{{ end }}
{{- $envs := list }}
{{- range $env }}{{ $envs = append $envs (dict "name" .name "value" (replace "{{item}}" $item .value)) }}{{ end }}
{{- include "fanout.step" (dict
      "root" $root
      "name" .name
      "inputs" .inputs
      "outputs" .outputs
      "image" (merge (deepCopy $step.image) (deepCopy $root.Values.image))
      "command" $command
      "args" $args
      "env" $envs
      "resources" $step.resources) }}
{{- end }}

{{/*
fanout.job.validate: the shared rules (fanout.validate) plus the parameters' names, which must
be unique.
*/}}
{{- define "fanout.job.validate" -}}
{{- include "fanout.validate" . }}
{{- $seen := dict }}
{{- range .Values.parameters }}
{{- if hasKey $seen .name }}
{{- fail (printf "parameters lists the name %q twice: give each workflow parameter once" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- end }}
