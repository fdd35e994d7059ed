{{/* Names */}}
{{- define "rdlab.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rdlab.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels: rdlab.labels takes (dict "root" $ "component" "api") */}}
{{- define "rdlab.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rdlab.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "rdlab.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rdlab.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: rdlab
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* An image: (dict "root" $ "repository" .Values.image.api) */}}
{{- define "rdlab.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret every secret reference names: existingSecret.name, or the chart's. */}}
{{- define "rdlab.secretName" -}}
{{- default (printf "%s-secrets" (include "rdlab.fullname" .)) .Values.existingSecret.name -}}
{{- end -}}

{{/* A secretKeyRef env var: (dict "root" $ "name" "DATABASE_URL" "key" "databaseUrl" "optional" false "secret" "…") */}}
{{- define "rdlab.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ default (include "rdlab.secretName" .root) .secret }}
      key: {{ index .root.Values.existingSecret.keys .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The environment every rdlab process shares: the ConfigMap, and secrets by reference. */}}
{{- define "rdlab.commonEnv" -}}
{{ include "rdlab.secretEnv" (dict "root" . "name" "DATABASE_URL" "key" "databaseUrl") }}
{{ include "rdlab.secretEnv" (dict "root" . "name" "REDIS_URL" "key" "redisUrl") }}
{{ include "rdlab.secretEnv" (dict "root" . "name" "AWS_ACCESS_KEY_ID" "key" "s3AccessKeyId" "optional" true) }}
{{ include "rdlab.secretEnv" (dict "root" . "name" "AWS_SECRET_ACCESS_KEY" "key" "s3SecretAccessKey" "optional" true) }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "rdlab.envFrom" -}}
- configMapRef:
    name: {{ include "rdlab.fullname" . }}-config
{{- end -}}

{{/* Pod-level settings shared by every Deployment and the Job. */}}
{{- define "rdlab.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .Values.serviceAccountName }}
serviceAccountName: {{ .Values.serviceAccountName }}
{{- end }}
automountServiceAccountToken: false
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Rolls pods when the ConfigMap or the chart's Secret changes. */}}
{{- define "rdlab.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/config.yaml") . | sha256sum }}
{{- end -}}

{{/* The URL KEDA reads the queue depth from. */}}
{{- define "rdlab.queueUrl" -}}
{{- printf "http://%s-api.%s.svc.%s:%d/v1/queue" (include "rdlab.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.api.service.port) -}}
{{- end -}}
