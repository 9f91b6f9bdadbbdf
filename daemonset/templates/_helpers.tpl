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

{{/*
"true" when the Cilium objects belong in this release. Never with
config.applyClusterObjects: then the elected agent owns them (server-side
apply, field manager casa-node-agent), and two owners would undo each other's
writes (Helm's three-way merge resets the MAS-dependent fields at every upgrade).
*/}}
{{- define "casa-node-agent.ciliumObjects" -}}
{{- $cilium := or (eq .Values.dataplane "cilium") (and (eq .Values.dataplane "auto") (.Capabilities.APIVersions.Has "cilium.io/v2/CiliumClusterwideEnvoyConfig")) -}}
{{- and $cilium .Values.cilium.installObjects (not .Values.config.applyClusterObjects) | toString -}}
{{- end }}

{{/*
"true" when the agent serves Istio sidecars: dataplane istio, or auto where
Istio's API is served and Cilium's envoy-config API is not (the agent's own
order in --dataplane auto: Cilium first).
*/}}
{{- define "casa-node-agent.servesIstio" -}}
{{- $caps := .Capabilities.APIVersions -}}
{{- $istioApi := or ($caps.Has "networking.istio.io/v1alpha3/EnvoyFilter") ($caps.Has "security.istio.io/v1/AuthorizationPolicy") ($caps.Has "security.istio.io/v1beta1/AuthorizationPolicy") -}}
{{- $auto := and (eq .Values.dataplane "auto") (not ($caps.Has "cilium.io/v2/CiliumClusterwideEnvoyConfig")) $istioApi -}}
{{- or (eq .Values.dataplane "istio") $auto | toString -}}
{{- end }}

{{/* "true" when the Istio Service and attachment objects belong in this release. */}}
{{- define "casa-node-agent.istioObjects" -}}
{{- and (eq (include "casa-node-agent.servesIstio" .) "true") .Values.istio.installObjects | toString -}}
{{- end }}

{{/* The name sidecars dial to reach the agent (its Service). */}}
{{- define "casa-node-agent.istioService" -}}
{{ include "casa-node-agent.fullname" . }}.{{ .Release.Namespace }}.svc.{{ .Values.istio.clusterDomain | default "cluster.local" }}
{{- end }}

{{/* Namespaces to attach, sorted and unique, as a JSON list (default: rbac.secretNamespaces). */}}
{{- define "casa-node-agent.istioNamespaces" -}}
{{- $ns := .Values.istio.namespaces | default .Values.rbac.secretNamespaces | default list -}}
{{- $ns | uniq | sortAlpha | toJson -}}
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
{{- $_ := set $cfg "istioService" (include "casa-node-agent.istioService" .) -}}
{{- $_ := set $cfg "istioAttachment" (.Values.istio.attachment | default "envoyfilter") -}}
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
{{- if eq (include "casa-node-agent.servesIstio" .) "true" -}}
{{- range $p := list (int (default 4100 .Values.ports.istioInbound)) (int (default 5100 .Values.ports.istioOutbound)) -}}
{{- if has $p $ports -}}
{{- fail (printf "ports.istioInbound and ports.istioOutbound must differ from ports.authz, ports.xds and ports.diag (port %d)" $p) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.config.runtimeProfile "rfc") (not .Values.config.rfcClientId) -}}
{{- fail "config.runtimeProfile rfc needs config.rfcClientId (and secrets.rfcClientSecret)" -}}
{{- end -}}
{{- end }}

{{/* The sidecar ext_authz filter (args: root, cluster, statPrefix); as renderIstio builds it. */}}
{{- define "casa-node-agent.istioExtAuthz" -}}
name: envoy.filters.http.ext_authz
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
  grpc_service:
    envoy_grpc:
      cluster_name: {{ .cluster }}
    timeout: {{ include "casa-node-agent.checkTimeoutDuration" .root }}
  transport_api_version: V3
  failure_mode_allow: false
  with_request_body:
    max_request_bytes: {{ .root.Values.config.maxRequestBytes | default 60000 }}
    allow_partial_message: true
    pack_as_bytes: true
  status_on_error:
    code: Forbidden
  include_peer_certificate: true
  stat_prefix: {{ .statPrefix }}
{{- end }}

{{/* A cluster to one agent port through its Service (args: name, address, port). */}}
{{- define "casa-node-agent.istioCluster" -}}
name: {{ .name }}
type: STRICT_DNS
connect_timeout: 5s
lb_policy: ROUND_ROBIN
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}
load_assignment:
  cluster_name: {{ .name }}
  endpoints:
    - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: {{ .address }}
                port_value: {{ .port }}
{{- end }}
