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
Refuses the values with a message naming the value to fix. `helm template` and `helm install`
stop at `fail`; `helm lint` renders with a `fail` that only logs, so the same message then stops
it as the name of a template that does not exist (lint reports: no template "values refused: ...").
Usage: include "tinyforge-reconciler.refuse" "leaderElection.renewDeadline: ..."
*/}}
{{- define "tinyforge-reconciler.refuse" -}}
{{- fail . }}
{{- include (printf "values refused: %s" .) dict }}
{{- end }}

{{/*
Cross-field checks the schema cannot express well; each failure names the value to fix.
Included by the workload templates, so `helm lint` and `helm template` report them.
*/}}
{{- define "tinyforge-reconciler.validate" -}}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- include "tinyforge-reconciler.refuse" "database: set either database.url or database.existingSecret, not both" }}
{{- end }}
{{- if and .Values.api.token .Values.api.existingSecret }}
{{- include "tinyforge-reconciler.refuse" "api: set either api.token or api.existingSecret, not both" }}
{{- end }}
{{- if and .Values.database.url (not (regexMatch "^(mysql|mariadb)://" .Values.database.url)) }}
{{- include "tinyforge-reconciler.refuse" "database.url: expected mysql://user:password@host:3306/database (the embedded SQLite database cannot be shared by agents)" }}
{{- end }}
{{- if eq .Values.mode "deployment" }}
{{- if not .Values.hostName }}
{{- include "tinyforge-reconciler.refuse" "hostName: required in deployment mode (the `host` column the replicas own)" }}
{{- end }}
{{- if not .Values.docker.host }}
{{- include "tinyforge-reconciler.refuse" "docker.host: required in deployment mode (a remote Docker Engine API, for example tcp://docker-proxy:2375)" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- include "tinyforge-reconciler.refuse" "leaderElection.enabled: must be true with replicaCount > 1 (replicas of one host would write at the same time)" }}
{{- end }}
{{- else }}
{{- if .Values.hostName }}
{{- include "tinyforge-reconciler.refuse" "hostName: must be empty in daemonset mode (each agent owns its node's name); use mode=deployment for a fixed host name" }}
{{- end }}
{{- if .Values.docker.host }}
{{- include "tinyforge-reconciler.refuse" "docker.host: must be empty in daemonset mode (each agent talks to its node's socket, docker.socketPath); use mode=deployment for a remote Docker Engine" }}
{{- end }}
{{- end }}
{{- include "tinyforge-reconciler.validateDurations" . }}
{{- $pct := .Values.heapPercent | default 0 | int }}
{{- if and (gt $pct 0) (regexMatch "max-old-space-size" (.Values.nodeOptions | default "")) }}
{{- include "tinyforge-reconciler.refuse" "nodeOptions: sets --max-old-space-size while heapPercent derives it; set heapPercent: 0 to give your own" }}
{{- end }}
{{- if and (gt (.Values.semiSpaceMiB | default 0 | int) 0) (regexMatch "max-semi-space-size" (.Values.nodeOptions | default "")) }}
{{- include "tinyforge-reconciler.refuse" "nodeOptions: sets --max-semi-space-size while semiSpaceMiB sets it; set semiSpaceMiB: 0 to give your own" }}
{{- end }}
{{- $limit := "" }}
{{- with .Values.resources }}{{ with .limits }}{{ $limit = .memory | default "" }}{{ end }}{{ end }}
{{- if and (gt $pct 0) $limit (not (include "tinyforge-reconciler.memoryMiB" $limit)) }}
{{- include "tinyforge-reconciler.refuse" (printf "resources.limits.memory: %s is not a whole number of bytes, Ki, Mi, Gi, K, M or G, which heapPercent needs (or set heapPercent: 0)" (toString $limit)) }}
{{- end }}
{{- end }}

{{/*
The service's defaults for the leader-election durations, as src/config.ts ENV_VARS states them
(the chart test fails when they drift): an empty value means the service uses these, so the
cross-field rules compare with them.
*/}}
{{- define "tinyforge-reconciler.serviceDurationDefaults" -}}
leaseDuration: 40s
renewDeadline: 30s
retryPeriod: 10s
{{- end }}

{{/*
A duration in milliseconds (a float, printed by Go): `500ms`, `15s`, `1m30s`, `2h`, `7d`, `1w`,
`1y`, or a plain number of seconds (`45`, `0.5`), as the service (src/config.ts parseDuration) and
Prometheus read them. Usage: include "tinyforge-reconciler.durationMs" (list "name" "15s")
*/}}
{{- define "tinyforge-reconciler.durationMs" -}}
{{- $name := index . 0 }}
{{- $raw := index . 1 | toString | trim }}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $raw }}
{{- mulf (float64 $raw) 1000 }}
{{- else if regexMatch "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w|y))+$" $raw }}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w|y)" $raw -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $total = addf $total (mulf (float64 $number) (get $units (trimPrefix $number .))) }}
{{- end }}
{{- $total }}
{{- else }}
{{- include "tinyforge-reconciler.refuse" (printf "%s: %q is not a duration (500ms, 15s, 1m30s, 2h)" $name $raw) }}
{{- end }}
{{- end }}

{{/*
Cross-field duration rules the JSON schema cannot state: the ones src/config.ts enforces at start
(a pod with values it refuses would crash-loop) and the one Prometheus enforces on a scrape config.
*/}}
{{- define "tinyforge-reconciler.validateDurations" -}}
{{- $defaults := include "tinyforge-reconciler.serviceDurationDefaults" . | fromYaml }}
{{- $le := .Values.leaderElection }}
{{- $lease := dict "name" "leaderElection.leaseDuration" "env" "LEASE_DURATION" "raw" ($le.leaseDuration | toString) "min" 1000.0 }}
{{- $renew := dict "name" "leaderElection.renewDeadline" "env" "RENEW_DEADLINE" "raw" ($le.renewDeadline | toString) "min" 500.0 }}
{{- $retry := dict "name" "leaderElection.retryPeriod" "env" "RETRY_PERIOD" "raw" ($le.retryPeriod | toString) "min" 100.0 }}
{{- range $d := list $lease $renew $retry }}
{{- $key := trimPrefix "leaderElection." $d.name }}
{{- $_ := set $d "shown" (ternary (printf "%s" $d.raw) (printf "%s, the service default" (get $defaults $key)) (ne $d.raw "")) }}
{{- $_ := set $d "ms" (include "tinyforge-reconciler.durationMs" (list $d.name (default (get $defaults $key) $d.raw)) | float64) }}
{{- if lt $d.ms $d.min }}
{{- include "tinyforge-reconciler.refuse" (printf "%s: %s is below the service's minimum of %vms for %s" $d.name $d.shown $d.min $d.env) }}
{{- end }}
{{- end }}
{{- if ge $renew.ms $lease.ms }}
{{- include "tinyforge-reconciler.refuse" (printf "leaderElection.renewDeadline (%s) must be shorter than leaderElection.leaseDuration (%s): the service refuses RENEW_DEADLINE >= LEASE_DURATION and the pod would crash-loop" $renew.shown $lease.shown) }}
{{- end }}
{{- if ge $retry.ms $renew.ms }}
{{- include "tinyforge-reconciler.refuse" (printf "leaderElection.retryPeriod (%s) must be shorter than leaderElection.renewDeadline (%s): the service refuses RETRY_PERIOD >= RENEW_DEADLINE and the pod would crash-loop" $retry.shown $renew.shown) }}
{{- end }}
{{- /* The service's minimum of each other duration the chart passes (src/config.ts loadConfig). */}}
{{- $minimums := list
  (list "healthzMaxPassAge" "HEALTHZ_MAX_PASS_AGE" .Values.healthzMaxPassAge 1.0)
  (list "retryMaxDelay" "RETRY_MAX_DELAY" .Values.retryMaxDelay 5.0)
  (list "eventRetention" "EVENT_RETENTION" .Values.eventRetention 60000.0)
  (list "database.statementTimeout" "DB_STATEMENT_TIMEOUT" .Values.database.statementTimeout 100.0)
  (list "database.connectTimeout" "DB_CONNECT_TIMEOUT" .Values.database.connectTimeout 100.0)
  (list "docker.listTimeout" "DOCKER_LIST_TIMEOUT" .Values.docker.listTimeout 1000.0) }}
{{- range $m := $minimums }}
{{- $raw := index $m 2 | toString }}
{{- if $raw }}
{{- $ms := include "tinyforge-reconciler.durationMs" (list (index $m 0) $raw) | float64 }}
{{- if lt $ms (index $m 3) }}
{{- include "tinyforge-reconciler.refuse" (printf "%s: %s is below the service's minimum of %vms for %s" (index $m 0) $raw (index $m 3) (index $m 1)) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.docker.maxEntryBytes }}
{{- $size := regexFind "^[0-9]+" (toString .) | float64 }}
{{- $unit := regexFind "(Ki|Mi)" (toString .) }}
{{- $bytes := mulf $size (ternary 1024 (ternary 1048576 1 (eq $unit "Mi")) (eq $unit "Ki")) }}
{{- if or (lt $bytes 65536.0) (gt $bytes 268435456.0) }}
{{- include "tinyforge-reconciler.refuse" (printf "docker.maxEntryBytes: %s is outside 64Ki-256Mi, which the service refuses for DOCKER_MAX_ENTRY_BYTES" (toString .)) }}
{{- end }}
{{- end }}
{{- if .Values.serviceMonitor.enabled }}
{{- $interval := include "tinyforge-reconciler.durationMs" (list "serviceMonitor.interval" .Values.serviceMonitor.interval) | float64 }}
{{- $timeout := include "tinyforge-reconciler.durationMs" (list "serviceMonitor.scrapeTimeout" .Values.serviceMonitor.scrapeTimeout) | float64 }}
{{- if gt $timeout $interval }}
{{- include "tinyforge-reconciler.refuse" (printf "serviceMonitor.scrapeTimeout (%s) must not exceed serviceMonitor.interval (%s): Prometheus refuses a scrape timeout longer than the interval" (toString .Values.serviceMonitor.scrapeTimeout) (toString .Values.serviceMonitor.interval)) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
DOCKER_HOST as the reconciler sees it.
*/}}
{{- define "tinyforge-reconciler.dockerHost" -}}
{{- if eq .Values.mode "deployment" }}
{{- .Values.docker.host }}
{{- else if .Values.dockerProxy.enabled }}
{{- printf "unix://%s/docker.sock" (include "tinyforge-reconciler.proxySocketDir" .) }}
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
The directory, shared by the docker-proxy sidecar and the reconciler (an emptyDir), that holds the
proxy's socket.
*/}}
{{- define "tinyforge-reconciler.proxySocketDir" -}}
/run/tinyforge
{{- end }}

{{/*
True ("true") when the pod runs the docker-proxy sidecar (daemonset mode, dockerProxy.enabled).
*/}}
{{- define "tinyforge-reconciler.runsProxy" -}}
{{- if and (eq .Values.mode "daemonset") .Values.dockerProxy.enabled }}true{{ end }}
{{- end }}

{{/*
True ("true") when the pod mounts the node's Docker socket (daemonset mode), into the sidecar or,
without it, into the reconciler.
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
{{- with .Values.lastSeenMaxAge }}
- name: LAST_SEEN_MAX_AGE
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.relistInterval }}
- name: RELIST_INTERVAL
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.desiredStateRecheck }}
- name: DESIRED_STATE_RECHECK
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.docker.maxEntryBytes }}
- name: DOCKER_MAX_ENTRY_BYTES
  value: {{ . | toString | quote }}
{{- end }}
{{- with .Values.docker.listTimeout }}
- name: DOCKER_LIST_TIMEOUT
  value: {{ . | toString | quote }}
{{- end }}
{{- with (include "tinyforge-reconciler.nodeOptions" .) }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
A memory quantity (`384Mi`, `1Gi`, `500M`, `402653184`) in MiB, rounded down; empty when it is
not one of those forms.
*/}}
{{- define "tinyforge-reconciler.memoryMiB" -}}
{{- $q := . | toString | trim -}}
{{- $m := regexFind "^[0-9]+" $q -}}
{{- if $m -}}
{{- $n := $m | int64 -}}
{{- $unit := trimPrefix $m $q -}}
{{- $bytes := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "K" 1000 "M" 1000000 "G" 1000000000 -}}
{{- if hasKey $bytes $unit -}}
{{- div (mul $n (get $bytes $unit)) 1048576 -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
NODE_OPTIONS of the reconciler: V8's old-space limit at `heapPercent` of the container's memory
limit (V8 otherwise sizes its heap from the node's memory and lets garbage pile up far past the
container's limit before it collects: docs/benchmarks.md), its young generation's semi-space
(`semiSpaceMiB`), then `nodeOptions`.
*/}}
{{- define "tinyforge-reconciler.nodeOptions" -}}
{{- $opts := list -}}
{{- $limit := "" -}}
{{- with .Values.resources }}{{ with .limits }}{{ $limit = .memory | default "" }}{{ end }}{{ end -}}
{{- $pct := .Values.heapPercent | default 0 | int -}}
{{- if and $limit (gt $pct 0) -}}
{{- $mib := include "tinyforge-reconciler.memoryMiB" $limit -}}
{{- if $mib -}}
{{- $opts = append $opts (printf "--max-old-space-size=%d" (div (mul ($mib | int64) $pct) 100)) -}}
{{- end -}}
{{- end -}}
{{- with (.Values.semiSpaceMiB | default 0 | int) }}{{ $opts = append $opts (printf "--max-semi-space-size=%d" .) }}{{ end -}}
{{- with .Values.nodeOptions }}{{ $opts = append $opts . }}{{ end -}}
{{- join " " $opts -}}
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
    {{- /* The docker group only for a reconciler that holds the socket itself; the sidecar gets it as its runAsGroup. */}}
    {{- if and (include "tinyforge-reconciler.mountsSocket" .) (not (include "tinyforge-reconciler.runsProxy" .)) (not (kindIs "invalid" .Values.docker.groupId)) }}
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
        {{- if include "tinyforge-reconciler.runsProxy" . }}
        # The proxy's socket only; connecting needs no write access to the volume.
        - name: docker-proxy-socket
          mountPath: {{ include "tinyforge-reconciler.proxySocketDir" . }}
          readOnly: true
        {{- else if include "tinyforge-reconciler.mountsSocket" . }}
        # dockerProxy.enabled=false: the whole Docker API (root on the node) unless docker.socketPath
        # is the socket of a proxy the operator runs.
        - name: docker-socket
          mountPath: {{ include "tinyforge-reconciler.socketMountPath" . }}
          readOnly: true
        {{- end }}
    {{- if include "tinyforge-reconciler.runsProxy" . }}
    # The only container that holds the node's Docker socket: an allow-list proxy (src/proxy/) that
    # passes GET of ping, version, container list/inspect and events, and refuses the rest with 403.
    - name: docker-proxy
      image: {{ include "tinyforge-reconciler.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - docker-proxy
        - --listen
        - {{ printf "unix://%s/docker.sock" (include "tinyforge-reconciler.proxySocketDir" .) | quote }}
        - --upstream
        - {{ printf "unix://%s" (include "tinyforge-reconciler.socketMountPath" .) | quote }}
        # 0660: the socket belongs to uid 10001 (both containers) and the volume's fsGroup.
        - --socket-mode
        - "0660"
        - --log-level
        - {{ .Values.dockerProxy.logLevel | quote }}
      securityContext:
        {{- $proxySecurityContext := deepCopy .Values.dockerProxy.securityContext }}
        {{- if not (kindIs "invalid" .Values.docker.groupId) }}
        {{- $_ := set $proxySecurityContext "runAsGroup" (int .Values.docker.groupId) }}
        {{- end }}
        {{- toYaml $proxySecurityContext | nindent 8 }}
      {{- with .Values.dockerProxy.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: docker-socket
          mountPath: {{ include "tinyforge-reconciler.socketMountPath" . }}
          readOnly: true
        - name: docker-proxy-socket
          mountPath: {{ include "tinyforge-reconciler.proxySocketDir" . }}
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
    {{- if include "tinyforge-reconciler.runsProxy" . }}
    - name: docker-proxy-socket
      emptyDir:
        medium: Memory
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
