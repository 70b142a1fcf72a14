{{/*
fanout.validatePlatform: fails unless .Values.platform names what the namespace's platform
release provides (the platform chart's `<fullname>-platform` ConfigMap holds exactly this block;
the Pulumi program and run-local pass it). The values schema checks the types; this checks that
the block was given at all, naming the key and where its value comes from.
*/}}
{{- define "fanout.validatePlatform" -}}
{{- $platform := .Values.platform }}
{{- $hint := "pass the platform block the platform release prints (kubectl get configmap <platform fullname>-platform -o jsonpath='{.data.values\\.yaml}' > platform.yaml; helm install ... -f platform.yaml)" }}
{{- range $key := list "claimName" "serviceAccountName" "mountPath" }}
{{- if not (get $platform $key) }}
{{- fail (printf "platform.%s is empty: %s" $key $hint) }}
{{- end }}
{{- end }}
{{- range $key := list "runAsUser" "runAsGroup" }}
{{- if not (hasKey $platform.podSecurityContext $key) }}
{{- fail (printf "platform.podSecurityContext.%s is not set: %s" $key $hint) }}
{{- end }}
{{- end }}
{{- if not $platform.compute.profile }}
{{- fail (printf "platform.compute.profile is empty: %s" $hint) }}
{{- end }}
{{- end }}

{{/*
fanout.volumes: a workflow's volumes: `data` (the platform's shared claim), then the optional
"extra" list (each item's name first), then `tmp` (an emptyDir for /tmp, since the root filesystem is read-only).
Call with (dict "root" $ "extra" (list ...)).
*/}}
{{- define "fanout.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ .root.Values.platform.claimName }}
{{- range .extra }}
- name: {{ .name }}
  {{- toYaml (omit . "name") | nindent 2 }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end }}

{{/*
fanout.volumeMounts: a step container's mounts of fanout.volumes: `data` at
platform.mountPath, the optional "extra" list, `tmp` at /tmp.
Call with (dict "root" $ "extra" (list ...)).
*/}}
{{- define "fanout.volumeMounts" -}}
- name: data
  mountPath: {{ .root.Values.platform.mountPath }}
{{- range .extra }}
- name: {{ .name }}
  {{- toYaml (omit . "name") | nindent 2 }}
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end }}
