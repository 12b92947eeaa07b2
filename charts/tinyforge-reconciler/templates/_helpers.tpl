{{/*
Chart name, overridable with .Values.nameOverride.
*/}}
{{- define "tinyforge-reconciler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: <release>-<name>, or the release name when it already contains
the name. Truncated to 63 characters (DNS label limit).
*/}}
{{- define "tinyforge-reconciler.fullname" -}}
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
Chart label value: name-version.
*/}}
{{- define "tinyforge-reconciler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (never add version labels here).
*/}}
{{- define "tinyforge-reconciler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tinyforge-reconciler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels on every resource.
*/}}
{{- define "tinyforge-reconciler.labels" -}}
helm.sh/chart: {{ include "tinyforge-reconciler.chart" . }}
{{ include "tinyforge-reconciler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: reconciler
app.kubernetes.io/part-of: tinyforge
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "tinyforge-reconciler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tinyforge-reconciler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from {repository, tag, digest}; the digest wins over the tag.
Usage: include "tinyforge-reconciler.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion)
*/}}
{{- define "tinyforge-reconciler.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (toString (default .defaultTag .image.tag)) }}
{{- end }}
{{- end }}

{{/*
Name of the Secret the chart manages (database URL and/or API token given as values).
*/}}
{{- define "tinyforge-reconciler.secretName" -}}
{{- include "tinyforge-reconciler.fullname" . }}
{{- end }}

{{/*
True ("true") when the chart renders its own Secret.
*/}}
{{- define "tinyforge-reconciler.createSecret" -}}
{{- if or .Values.database.url .Values.api.token }}true{{ end }}
{{- end }}

{{/*
Secret holding DATABASE_URL: the chart's when database.url is set, else existingSecret, else
the conventional "<fullname>-database" that the operator creates.
*/}}
{{- define "tinyforge-reconciler.databaseSecretName" -}}
{{- if .Values.database.url }}
{{- include "tinyforge-reconciler.secretName" . }}
{{- else if .Values.database.existingSecret }}
{{- .Values.database.existingSecret }}
{{- else }}
{{- printf "%s-database" (include "tinyforge-reconciler.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Secret holding API_TOKEN, empty when the API is open.
*/}}
{{- define "tinyforge-reconciler.apiTokenSecretName" -}}
{{- if .Values.api.token }}
{{- include "tinyforge-reconciler.secretName" . }}
{{- else if .Values.api.existingSecret }}
{{- .Values.api.existingSecret }}
{{- end }}
{{- end }}

{{/*
Cross-field checks the schema cannot express well; each failure names the value to fix.
Included by the workload templates, so `helm lint` and `helm template` report them.
*/}}
{{- define "tinyforge-reconciler.validate" -}}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "database: set either database.url or database.existingSecret, not both" }}
{{- end }}
{{- if and .Values.api.token .Values.api.existingSecret }}
{{- fail "api: set either api.token or api.existingSecret, not both" }}
{{- end }}
{{- if and .Values.database.url (not (regexMatch "^(mysql|mariadb)://" .Values.database.url)) }}
{{- fail "database.url: expected mysql://user:password@host:3306/database (the embedded SQLite database cannot be shared by agents)" }}
{{- end }}
{{- if eq .Values.mode "deployment" }}
{{- if not .Values.hostName }}
{{- fail "hostName: required in deployment mode (the `host` column the replicas own)" }}
{{- end }}
{{- if not .Values.docker.host }}
{{- fail "docker.host: required in deployment mode (a remote Docker Engine API, for example tcp://docker-proxy:2375)" }}
{{- end }}
{{- if .Values.socketProxy.enabled }}
{{- fail "socketProxy.enabled: the sidecar proxies the socket of the node a pod lands on, so it belongs to daemonset mode; in deployment mode point docker.host at a proxy next to the Docker Engine" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "leaderElection.enabled: must be true with replicaCount > 1 (replicas of one host would write at the same time)" }}
{{- end }}
{{- else }}
{{- if .Values.hostName }}
{{- fail "hostName: must be empty in daemonset mode (each agent owns its node's name); use mode=deployment for a fixed host name" }}
{{- end }}
{{- if .Values.docker.host }}
{{- fail "docker.host: must be empty in daemonset mode (each agent talks to its node's socket, docker.socketPath); use mode=deployment for a remote Docker Engine" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
DOCKER_HOST as the reconciler sees it.
*/}}
{{- define "tinyforge-reconciler.dockerHost" -}}
{{- if eq .Values.mode "deployment" }}
{{- .Values.docker.host }}
{{- else if .Values.socketProxy.enabled }}
{{- printf "tcp://127.0.0.1:%d" (int .Values.socketProxy.port) }}
{{- else }}
{{- printf "unix://%s" (include "tinyforge-reconciler.socketMountPath" .) }}
{{- end }}
{{- end }}

{{/*
Where the node's socket appears inside a container (fixed, whatever the host path).
*/}}
{{- define "tinyforge-reconciler.socketMountPath" -}}
/var/run/docker.sock
{{- end }}

{{/*
True ("true") when the pod mounts the node's Docker socket (daemonset mode).
*/}}
{{- define "tinyforge-reconciler.mountsSocket" -}}
{{- if eq .Values.mode "daemonset" }}true{{ end }}
{{- end }}

{{/*
Environment of the reconciler container. Every name here is one the service reads
(src/config.ts ENV_VARS; the chart test checks it). Optional tunables are omitted when
empty so the service's own default applies.
*/}}
{{- define "tinyforge-reconciler.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tinyforge-reconciler.databaseSecretName" . }}
      key: {{ .Values.database.existingSecretKey }}
- name: DOCKER_HOST
  value: {{ include "tinyforge-reconciler.dockerHost" . | quote }}
- name: HOST_NAME
{{- if eq .Values.mode "daemonset" }}
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- else }}
  value: {{ .Values.hostName | quote }}
{{- end }}
- name: RECONCILE_INTERVAL
  value: {{ .Values.reconcileInterval | toString | quote }}
- name: WORKERS
  value: {{ .Values.workers | int | toString | quote }}
- name: HTTP_PORT
  value: {{ .Values.http.port | int | toString | quote }}
{{- with .Values.http.host }}
- name: HTTP_HOST
  value: {{ . | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.healthzMaxPassAge }}
- name: HEALTHZ_MAX_PASS_AGE
  value: {{ . | toString | quote }}
{{- end }}
- name: LEADER_ELECTION
  value: {{ ternary "true" "false" .Values.leaderElection.enabled | quote }}
{{- with .Values.leaderElection.leaseDuration }}
- name: LEASE_DURATION
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.leaderElection.renewDeadline }}
- name: RENEW_DEADLINE
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.leaderElection.retryPeriod }}
- name: RETRY_PERIOD
  value: {{ . | toString | quote }}
{{- end }}
- name: SHUTDOWN_GRACE_PERIOD
  value: {{ printf "%ds" (int .Values.shutdownGracePeriodSeconds) | quote }}
{{- if not (kindIs "invalid" .Values.writeBatchSize) }}
- name: WRITE_BATCH_SIZE
  value: {{ .Values.writeBatchSize | int | toString | quote }}
{{- end }}
{{- with .Values.retryMaxDelay }}
- name: RETRY_MAX_DELAY
  value: {{ . | toString | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.database.poolSize) }}
- name: DB_POOL_SIZE
  value: {{ .Values.database.poolSize | int | toString | quote }}
{{- end }}
{{- with .Values.database.statementTimeout }}
- name: DB_STATEMENT_TIMEOUT
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.database.connectTimeout }}
- name: DB_CONNECT_TIMEOUT
  value: {{ . | toString | quote }}
{{- end }}
{{- with include "tinyforge-reconciler.apiTokenSecretName" . }}
- name: API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.api.existingSecretKey }}
{{- end }}
{{- with .Values.eventRetention }}
- name: EVENT_RETENTION
  value: {{ . | toString | quote }}
{{- end }}
{{- end }}

{{/*
The pod template shared by the DaemonSet and the Deployment.
*/}}
{{- define "tinyforge-reconciler.podTemplate" -}}
metadata:
  labels:
    {{- include "tinyforge-reconciler.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or .Values.podAnnotations (include "tinyforge-reconciler.createSecret" .) }}
  annotations:
    {{- if include "tinyforge-reconciler.createSecret" . }}
    {{- /* Roll the pods when the chart-managed Secret changes. */}}
    checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  serviceAccountName: {{ include "tinyforge-reconciler.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ add (int .Values.shutdownGracePeriodSeconds) 10 }}
  securityContext:
    {{- $podSecurityContext := deepCopy .Values.podSecurityContext }}
    {{- if and (include "tinyforge-reconciler.mountsSocket" .) (not (kindIs "invalid" .Values.docker.groupId)) }}
    {{- $groups := concat (default (list) $podSecurityContext.supplementalGroups) (list (int .Values.docker.groupId)) | uniq }}
    {{- $_ := set $podSecurityContext "supplementalGroups" $groups }}
    {{- end }}
    {{- toYaml $podSecurityContext | nindent 4 }}
  containers:
    - name: reconciler
      image: {{ include "tinyforge-reconciler.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - run
      env:
        {{- include "tinyforge-reconciler.env" . | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ .Values.http.port }}
          protocol: TCP
      {{- if .Values.startupProbe.enabled }}
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ .Values.startupProbe.periodSeconds }}
        timeoutSeconds: {{ .Values.startupProbe.timeoutSeconds }}
        failureThreshold: {{ .Values.startupProbe.failureThreshold }}
      {{- end }}
      {{- if .Values.livenessProbe.enabled }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        initialDelaySeconds: {{ .Values.livenessProbe.initialDelaySeconds }}
        periodSeconds: {{ .Values.livenessProbe.periodSeconds }}
        timeoutSeconds: {{ .Values.livenessProbe.timeoutSeconds }}
        failureThreshold: {{ .Values.livenessProbe.failureThreshold }}
      {{- end }}
      {{- if .Values.readinessProbe.enabled }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        initialDelaySeconds: {{ .Values.readinessProbe.initialDelaySeconds }}
        periodSeconds: {{ .Values.readinessProbe.periodSeconds }}
        timeoutSeconds: {{ .Values.readinessProbe.timeoutSeconds }}
        failureThreshold: {{ .Values.readinessProbe.failureThreshold }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if and (include "tinyforge-reconciler.mountsSocket" .) (not .Values.socketProxy.enabled) }}
        - name: docker-socket
          mountPath: {{ include "tinyforge-reconciler.socketMountPath" . }}
          readOnly: true
        {{- end }}
    {{- if .Values.socketProxy.enabled }}
    - name: socket-proxy
      image: {{ include "tinyforge-reconciler.imageRef" (dict "image" .Values.socketProxy.image "defaultTag" "latest") | quote }}
      imagePullPolicy: {{ .Values.socketProxy.image.pullPolicy }}
      env:
        # Only what the reconciler needs: list/inspect containers, events, ping, version.
        - name: CONTAINERS
          value: "1"
        - name: EVENTS
          value: "1"
        - name: PING
          value: "1"
        - name: VERSION
          value: "1"
        # GET and HEAD only: the API is read-only through the proxy.
        - name: POST
          value: "0"
        # Loopback only: the proxy is for this pod, never for the network.
        - name: BIND_CONFIG
          value: {{ printf "127.0.0.1:%d" (int .Values.socketProxy.port) | quote }}
        - name: SOCKET_PATH
          value: {{ include "tinyforge-reconciler.socketMountPath" . | quote }}
      securityContext:
        {{- toYaml .Values.socketProxy.securityContext | nindent 8 }}
      {{- with .Values.socketProxy.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: docker-socket
          mountPath: {{ include "tinyforge-reconciler.socketMountPath" . }}
          readOnly: true
        # The proxy renders its HAProxy config into /tmp and writes its pid file to /run.
        - name: socket-proxy-tmp
          mountPath: /tmp
        - name: socket-proxy-run
          mountPath: /run
    {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmpSizeLimit }}
    {{- if include "tinyforge-reconciler.mountsSocket" . }}
    - name: docker-socket
      hostPath:
        path: {{ .Values.docker.socketPath }}
        type: Socket
    {{- end }}
    {{- if .Values.socketProxy.enabled }}
    - name: socket-proxy-tmp
      emptyDir:
        sizeLimit: 16Mi
    - name: socket-proxy-run
      emptyDir:
        sizeLimit: 1Mi
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
