{{/* The release's name prefix for every object: `<release>-maestro`, or the release name when it already says maestro. */}}
{{- define "maestro.fullname" -}}
{{- if contains "maestro" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-maestro" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select one component's pods (worker or api); `.root` is the chart's context. */}}
{{- define "maestro.selectorLabels" -}}
app.kubernetes.io/name: maestro
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every object: its component's selector labels, the version, who manages it. */}}
{{- define "maestro.labels" -}}
{{ include "maestro.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "maestro.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Where the key files are mounted. */}}
{{- define "maestro.keysDir" -}}/etc/maestro/keys{{- end -}}

{{/*
The environment both processes share: Temporal, the store, the keys (files from Secrets), the data
folder, then `config`. Credentials come from Secrets by reference (secretKeyRef or a mounted file),
never as a value here.
*/}}
{{- define "maestro.env" -}}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: MAESTRO_TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: MAESTRO_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
{{- if .Values.temporal.tls.enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- if and .Values.temporal.tls.secretName .Values.temporal.tls.clientCertificate }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/maestro/temporal-tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/maestro/temporal-tls/tls.key
{{- end }}
{{- if and .Values.temporal.tls.secretName .Values.temporal.tls.serverCa }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/maestro/temporal-tls/ca.crt
{{- end }}
{{- if .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .Values.temporal.tls.serverName | quote }}
{{- end }}
{{- end }}
{{- if .Values.temporal.apiKey.name }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.temporal.apiKey.name }}
      key: {{ .Values.temporal.apiKey.key }}
{{- end }}
- name: MAESTRO_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.databaseUrl.name }}
      key: {{ .Values.secrets.databaseUrl.key }}
- name: MAESTRO_SIGNING_KEY
  value: {{ include "maestro.keysDir" . }}/receipt-signing.key
- name: MAESTRO_APPROVAL_KEY
  value: {{ include "maestro.keysDir" . }}/approval-signing.key
- name: MAESTRO_PAYLOAD_KEY_FILE
  value: {{ include "maestro.keysDir" . }}/payload-key
- name: MAESTRO_DATA_DIR
  value: /var/lib/maestro
{{- if .Values.k8sRunner.enabled }}
- name: MAESTRO_K8S_NAMESPACES
  value: {{ include "maestro.k8sNamespacesSetting" . | quote }}
{{- end }}
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* MAESTRO_K8S_NAMESPACES: `maestro=kubernetes,…`, sorted. */}}
{{- define "maestro.k8sNamespacesSetting" -}}
{{- $pairs := list -}}
{{- range $maestro, $kube := .Values.k8sRunner.namespaces -}}
{{- $pairs = append $pairs (printf "%s=%s" $maestro $kube) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The distinct Kubernetes namespaces of the Jobs, sorted. */}}
{{- define "maestro.jobNamespaces" -}}
{{- values .Values.k8sRunner.namespaces | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/* Volumes both processes mount: the keys (one projected volume of Secret keys), Temporal's TLS, the data folder, /tmp. */}}
{{- define "maestro.volumes" -}}
- name: keys
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ .Values.secrets.signingKey.name }}
          items:
            - key: {{ .Values.secrets.signingKey.key }}
              path: receipt-signing.key
      - secret:
          name: {{ .Values.secrets.approvalKey.name }}
          items:
            - key: {{ .Values.secrets.approvalKey.key }}
              path: approval-signing.key
      - secret:
          name: {{ .Values.secrets.payloadKey.name }}
          items:
            - key: {{ .Values.secrets.payloadKey.key }}
              path: payload-key
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.secretName }}
    defaultMode: 0440
{{- end }}
- name: data
{{- if .Values.dataVolume.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.dataVolume.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
# tsx compiles the TypeScript sources into a cache under the temporary folder: the root file system is read-only.
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 256Mi
{{- end -}}

{{- define "maestro.volumeMounts" -}}
- name: keys
  mountPath: {{ include "maestro.keysDir" . }}
  readOnly: true
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: /etc/maestro/temporal-tls
  readOnly: true
{{- end }}
- name: data
  mountPath: /var/lib/maestro
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* The pod's security context: never root, the runtime's default seccomp profile. */}}
{{- define "maestro.podSecurityContext" -}}
runAsNonRoot: true
# The image's `node` user.
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Every container's: no privilege escalation, no capability, a read-only root file system. */}}
{{- define "maestro.containerSecurityContext" -}}
runAsNonRoot: true
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
