{{/*
platform.serviceAccountName: the account the steps of every job run as: serviceAccount.name,
else the fullname when the chart creates it; an existing account must be named.
*/}}
{{- define "platform.serviceAccountName" -}}
{{- if .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.create }}
{{- include "fanout.fullname" . }}
{{- else }}
{{- fail "serviceAccount.name is empty while serviceAccount.create is false: name the existing ServiceAccount the steps run as (it needs workflowtaskresults create and patch in argoproj.io)" }}
{{- end }}
{{- end }}

{{/*
platform.ossOtherOpts: the ossfs options the OSS PV mounts with: storage.oss.otherOpts plus the
steps' uid and gid (ossfs shows files as root-owned 0640 unless told otherwise).
*/}}
{{- define "platform.ossOtherOpts" -}}
{{- printf "%s -o uid=%d -o gid=%d" .Values.storage.oss.otherOpts (int .Values.podSecurityContext.runAsUser) (int .Values.podSecurityContext.runAsGroup) | trim }}
{{- end }}

{{/*
platform.volumeIdentity: 8 hex digits of a SHA-256 over what the PV and its claim cannot change
once created: the storage type, the size the claim requests, and the PV's volume source (hostPath
path; OSS bucket, endpoint, path, mount options with the steps' uid/gid, fuse type and Secret;
NAS server and path), one per line. The PV and claim names carry it, so a change of any of these
makes `helm upgrade` create a new pair and delete the old one instead of failing on an immutable
field. infra/workload.py computes the same (volume_identity) for the claim name it passes to the
job charts and exports.
*/}}
{{- define "platform.volumeIdentity" -}}
{{- $storage := .Values.storage }}
{{- $parts := list $storage.type (toString $storage.size) }}
{{- if eq $storage.type "hostPath" }}
{{- $parts = append $parts $storage.hostPath.path }}
{{- else if eq $storage.type "oss" }}
{{- with $storage.oss }}
{{- $parts = concat $parts (list .bucket .url .path (include "platform.ossOtherOpts" $) .fuseType .secretName) }}
{{- end }}
{{- else if eq $storage.type "nas" }}
{{- $parts = concat $parts (list $storage.nas.server $storage.nas.path) }}
{{- end }}
{{- join "\n" $parts | sha256sum | trunc 8 }}
{{- end }}

{{/*
platform.volumeName: the PersistentVolume's name. PVs are cluster-scoped, so the name joins
namespace, fullname and the volume identity; when that is too long it is cut and a hash of all
three keeps it unique. (helm lint renders with an empty namespace, hence the trimPrefix.)
*/}}
{{- define "platform.volumeName" -}}
{{- $identity := include "platform.volumeIdentity" . }}
{{- $full := printf "%s-%s-data-%s" .Release.Namespace (include "fanout.fullname" .) $identity | trimPrefix "-" }}
{{- if le (len $full) 63 }}
{{- $full }}
{{- else }}
{{- $hash := printf "%s/%s/%s" .Release.Namespace (include "fanout.fullname" .) $identity | sha256sum | trunc 8 }}
{{- printf "%s-%s" ($full | trunc 54 | trimSuffix "-") $hash }}
{{- end }}
{{- end }}

{{/*
platform.claimName: the PersistentVolumeClaim every job's steps mount: storage.existingClaim with
type existingClaim, else the one the chart renders, "<fullname>-data-<volume identity>".
*/}}
{{- define "platform.claimName" -}}
{{- if eq .Values.storage.type "existingClaim" }}
{{- .Values.storage.existingClaim }}
{{- else }}
{{- include "fanout.resourceName" (list . (printf "data-%s" (include "platform.volumeIdentity" .))) }}
{{- end }}
{{- end }}

{{/*
platform.jobValues: the `platform` values block every job chart of this namespace takes: the
claim, the steps' ServiceAccount, the mount path, the steps' user and group, the compute
profile. The chart publishes it in the `<fullname>-platform` ConfigMap; infra/workload.py
(platform_block) builds the same for the job releases it deploys.
*/}}
{{- define "platform.jobValues" -}}
{{- $security := dict "runAsUser" .Values.podSecurityContext.runAsUser "runAsGroup" .Values.podSecurityContext.runAsGroup }}
{{- if hasKey .Values.podSecurityContext "fsGroup" }}
{{- $_ := set $security "fsGroup" .Values.podSecurityContext.fsGroup }}
{{- end }}
{{- $block := dict
      "claimName" (include "platform.claimName" .)
      "serviceAccountName" (include "platform.serviceAccountName" .)
      "mountPath" .Values.storage.mountPath
      "podSecurityContext" $security
      "compute" .Values.compute }}
{{- toYaml (dict "platform" $block) }}
{{- end }}

{{/*
platform.validate: the cross-field rules the values schema cannot express; fails naming the
key, the value and what is allowed. Included by every template that depends on them.
*/}}
{{- define "platform.validate" -}}
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
{{- end }}
