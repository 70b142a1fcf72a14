{{/*
loops' own helpers; the shared ones (names, labels, the step container, volumes, retry
strategy, workflow spec) come from the fanout-lib library chart (charts/fanout-lib).
*/}}

{{/*
loops.validate: the shared rules (fanout.validate) plus the sequence's bounds, which the values
schema cannot relate: end at least start, and at most 1000 indexes (one pod each).
*/}}
{{- define "loops.validate" -}}
{{- include "fanout.validate" . }}
{{- $start := int .Values.job.start }}
{{- $end := int .Values.job.end }}
{{- if lt $end $start }}
{{- fail (printf "job.end %d is below job.start %d: give end >= start (the sequence is start..end, both included)" $end $start) }}
{{- end }}
{{- if gt (sub $end $start) 999 }}
{{- fail (printf "job.start %d .. job.end %d is %d indexes, one pod each; at most 1000 are allowed" $start $end (add (sub $end $start) 1)) }}
{{- end }}
{{- end }}
