#!/usr/bin/env bash
# Pins the Dockerfile's BASE_IMAGE to the current digest of a tag, or checks the pin.
#
#   scripts/update-base-digest.sh                 # resolve node:20-bookworm-slim, rewrite the ARG line
#   scripts/update-base-digest.sh node:20.20.2-bookworm-slim
#   scripts/update-base-digest.sh --check         # exit 1 when the tag has moved past the pin
#
# The digest is the one of the tag's multi-platform index (what `docker pull TAG` resolves), read
# with the first tool found: `docker buildx imagetools inspect`, `crane digest` or
# `skopeo inspect`. Needs the registry; nothing is pulled. Review the Node.js release notes and
# rebuild and test the image after a bump.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$root/Dockerfile"
check=0
if [[ "${1:-}" == "--check" ]]; then
  check=1
  shift
fi

current="$(sed -n 's/^ARG BASE_IMAGE=//p' "$dockerfile")"
if [[ -z "$current" ]]; then
  echo "update-base-digest: no 'ARG BASE_IMAGE=' line in $dockerfile" >&2
  exit 2
fi
tag="${1:-${current%@*}}"
if [[ "$tag" == *@* ]]; then
  echo "update-base-digest: give a tag, not a digest: $tag" >&2
  exit 2
fi

resolve() {
  local ref="$1" out
  if docker buildx version >/dev/null 2>&1; then
    # The header of the plain output names the index: "Digest:    sha256:...".
    out="$(docker buildx imagetools inspect "$ref")" || return 1
    printf '%s\n' "$out" | sed -n 's/^Digest:[[:space:]]*\(sha256:[0-9a-f]\{64\}\)[[:space:]]*$/\1/p' | head -n1
  elif command -v crane >/dev/null 2>&1; then
    crane digest "$ref"
  elif command -v skopeo >/dev/null 2>&1; then
    skopeo inspect --raw "docker://$ref" | sha256sum | sed 's/^\([0-9a-f]\{64\}\).*/sha256:\1/'
  else
    echo "update-base-digest: needs docker buildx, crane or skopeo" >&2
    return 1
  fi
}

digest="$(resolve "$tag")"
if [[ ! "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "update-base-digest: could not resolve a digest for $tag (got '$digest')" >&2
  exit 1
fi
pinned="$tag@$digest"

if [[ "$check" == 1 ]]; then
  if [[ "$current" == "$pinned" ]]; then
    echo "BASE_IMAGE is current: $pinned"
    exit 0
  fi
  echo "BASE_IMAGE is $current; $tag is now $digest" >&2
  exit 1
fi

if [[ "$current" == "$pinned" ]]; then
  echo "BASE_IMAGE already $pinned"
  exit 0
fi
tmp="$(mktemp "$dockerfile.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
awk -v line="ARG BASE_IMAGE=$pinned" '/^ARG BASE_IMAGE=/ { print line; next } { print }' "$dockerfile" >"$tmp"
# Written in place, so the file keeps its mode and owner.
cat "$tmp" >"$dockerfile"
rm -f "$tmp"
trap - EXIT
echo "BASE_IMAGE: $current -> $pinned"
