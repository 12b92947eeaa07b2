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

## Pure logic only: no servers.
unit: build
	$(MOCHA) 'dist/spec/controller/**/*.spec.js' 'dist/spec/docker/parsing.spec.js' 'dist/spec/metrics.spec.js'

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

clean:
	rm -rf dist .tmp
