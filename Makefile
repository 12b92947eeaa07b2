# tinyforge-reconciler: every entry point a developer or CI needs.
SHELL := /bin/bash
MOCHA := npx mocha --config .mocharc.json
HELM := scripts/helm.sh

.PHONY: all install build test unit integration chart-test monitoring-test lint run migrate bench clean

all: build

install:
	npm ci

build:
	npm run build

## The whole suite: unit, integration (real dockerd + MariaDB started by the tests), chart, monitoring.
test: build
	$(MOCHA) 'dist/spec/**/*.spec.js'

## Every server-free spec, in seconds: the core (worker loop, queue, caches, resync, handler,
## batch writer, refusals, leader election) with fakes and fake timers, the model, dispatch and
## decisions, util, the import graph, config, parsing, SQL building, phases, metrics (with
## promtool), and the seeded fuzz tests.
unit: build
	$(MOCHA) 'dist/spec/unit/**/*.spec.js' 'dist/spec/domain/**/*.spec.js' 'dist/spec/util/**/*.spec.js' \
	  'dist/spec/architecture/**/*.spec.js' 'dist/spec/queue/**/*.spec.js' 'dist/spec/controller/**/*.spec.js' \
	  'dist/spec/cache/**/*.spec.js' 'dist/spec/resync/**/*.spec.js' 'dist/spec/handlers/**/*.spec.js' \
	  'dist/spec/refusals/**/*.spec.js' 'dist/spec/leader/**/*.spec.js' 'dist/spec/store/batch-writer*.spec.js' \
	  'dist/spec/store/sql*.spec.js' 'dist/spec/store/failover-pool*.spec.js' 'dist/spec/store/conflicts*.spec.js' 'dist/spec/config*.spec.js' 'dist/spec/metrics*.spec.js' \
	  'dist/spec/docker/parsing*.spec.js' 'dist/spec/docker/items*.spec.js' 'dist/spec/docker/events*.spec.js' \
	  'dist/spec/docker/json-array-stream*.spec.js' 'dist/spec/status/phase*.spec.js' \
	  'dist/spec/proxy/**/*.spec.js' 'dist/spec/http/server*.spec.js'

integration: build
	$(MOCHA) 'dist/spec/integration/**/*.spec.js' 'dist/spec/store/**/*.spec.js' 'dist/spec/status/**/*.spec.js' 'dist/spec/http/**/*.spec.js' 'dist/spec/docker/**/*.spec.js'

## Helm chart: helm lint --strict and rendered-manifest assertions with the real helm.
chart-test: build
	$(MOCHA) 'dist/spec/chart/**/*.spec.js'

## Alert rules (promtool test rules) and the Grafana dashboard.
monitoring-test: build
	$(MOCHA) 'dist/spec/monitoring/**/*.spec.js'

lint:
	npx tsc -p tsconfig.json --noEmit
	$(HELM) lint --strict charts/tinyforge-reconciler
	promtool check rules charts/tinyforge-reconciler/files/prometheus-rules.yaml

## Runs the service (embedded SQLite, local Docker socket unless DOCKER_HOST is set).
run: build
	node dist/src/cli.js run

migrate: build
	node dist/src/cli.js migrate

## Benchmarks against real servers; prints tables and writes docs/benchmarks.md figures.
bench: build
	node --expose-gc dist/bench/run.js

## Many agents (one per simulated Docker host, leader election on) against one MariaDB: database load per
## host, steady and under churn, swept over the number of hosts; writes docs/benchmarks-fleet.md and
## docs/img/fleet-load.svg. Options: make bench-fleet ARGS='--help' (--quick: under 3 minutes).
.PHONY: bench-fleet
bench-fleet: build
	node --expose-gc dist/bench/fleet/main.js $(ARGS)

## One hostile label: the service's peak RSS (VmHWM) with a 100 MB label on a foreign compose
## container vs the same run without it (goal: within 50 MB). Options: make bench-hostile ARGS='--help'.
.PHONY: bench-hostile
bench-hostile: build
	node --expose-gc dist/bench/hostile-label.js $(ARGS)

clean:
	rm -rf dist .tmp

## Mutation testing of the pure core (Stryker 9.6.1 over the server-free specs; several minutes, not in CI).
## Tooling in tools/mutation (its own mocha 11); reports in reports/mutation/mutation.json and .html; see docs/testing.md.
.PHONY: mutation
mutation: tools/mutation/node_modules/.package-lock.json
	tools/mutation/node_modules/.bin/stryker run tools/mutation/stryker.config.mjs

tools/mutation/node_modules/.package-lock.json: tools/mutation/package.json tools/mutation/package-lock.json
	npm ci --prefix tools/mutation --no-audit --no-fund
