{{- define "casa-node-agent.name" -}}
casa-node-agent
{{- end }}

{{- define "casa-node-agent.fullname" -}}
{{- if contains "casa-node-agent" .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}{{ printf "%s-casa-node-agent" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "casa-node-agent.selectorLabels" -}}
app.kubernetes.io/name: casa-node-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "casa-node-agent.labels" -}}
{{ include "casa-node-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "casa-node-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ default (include "casa-node-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}{{ default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "casa-node-agent.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Envoy Duration (proto3 JSON) of config.checkTimeout (milliseconds). */}}
{{- define "casa-node-agent.checkTimeoutDuration" -}}
{{ printf "%gs" (divf .Values.config.checkTimeout 1000) }}
{{- end }}

{{/* "true" when the Cilium objects belong in this release. */}}
{{- define "casa-node-agent.ciliumObjects" -}}
{{- $cilium := or (eq .Values.dataplane "cilium") (and (eq .Values.dataplane "auto") (.Capabilities.APIVersions.Has "cilium.io/v2/CiliumClusterwideEnvoyConfig")) -}}
{{- and $cilium .Values.cilium.installObjects | toString -}}
{{- end }}

{{/* The agent's config file: the user's keys plus what the chart decides. */}}
{{- define "casa-node-agent.configFile" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $_ := set $cfg "inventory" "kubernetes" -}}
{{- $_ := set $cfg "dataplane" .Values.dataplane -}}
{{- $_ := set $cfg "agentNamespace" .Release.Namespace -}}
{{- $_ := set $cfg "authzListen" (printf "127.0.0.1:%d" (int .Values.ports.authz)) -}}
{{- $_ := set $cfg "xdsListen" (printf "127.0.0.1:%d" (int .Values.ports.xds)) -}}
{{- $_ := set $cfg "diagListen" (printf "0.0.0.0:%d" (int .Values.ports.diag)) -}}
{{- $_ := set $cfg "istioInboundListen" (printf "0.0.0.0:%d" (int (default 4100 .Values.ports.istioInbound))) -}}
{{- $_ := set $cfg "istioOutboundListen" (printf "0.0.0.0:%d" (int (default 5100 .Values.ports.istioOutbound))) -}}
{{- toYaml $cfg }}
{{- end }}

{{/* Fails the render with a clear message for combinations the schema cannot express. */}}
{{- define "casa-node-agent.validate" -}}
{{- $drainMs := int (default 10000 .Values.config.drainTimeout) -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) $drainMs -}}
{{- fail (printf "terminationGracePeriodSeconds (%d s) must exceed config.drainTimeout (%d ms), or in-flight Checks are killed" (int .Values.terminationGracePeriodSeconds) $drainMs) -}}
{{- end -}}
{{- $ports := list (int .Values.ports.authz) (int .Values.ports.xds) (int .Values.ports.diag) -}}
{{- if ne (len (uniq $ports)) 3 -}}
{{- fail "ports.authz, ports.xds and ports.diag must differ" -}}
{{- end -}}
{{- if and (eq .Values.config.runtimeProfile "rfc") (not .Values.config.rfcClientId) -}}
{{- fail "config.runtimeProfile rfc needs config.rfcClientId (and secrets.rfcClientSecret)" -}}
{{- end -}}
{{- end }}
