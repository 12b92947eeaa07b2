#!/usr/bin/env bash
# Builds the tinyforge-reconciler image where no base image can be pulled: makes a local base
# (Debian bookworm minbase from debootstrap, plus this machine's Node.js and npm), imports and
# tags it, then runs `docker build` on the repository's Dockerfile with BASE_IMAGE pointing at it,
# and smoke-tests the result.
#
#   DOCKER_HOST=unix:///path/to/private/d.sock scripts/build-image.sh [image-tag]
#
# Needs: root (debootstrap), debootstrap, a Debian mirror (MIRROR, default deb.debian.org) and
# the npm registry reachable from the host (the build runs with --network host, so a daemon
# started with --bridge=none works). The base is cached in .tmp/image/ and only rebuilt when
# missing from the engine (FORCE_BASE=1 rebuilds it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${1:-tinyforge-reconciler:$(node -p "require('$root/package.json').version")}"
base_tag="${BASE_TAG:-tinyforge-base:node$(node -p 'process.versions.node')-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
work="$root/.tmp/image"

if [[ -z "${DOCKER_HOST:-}" ]]; then
  echo "scripts/build-image.sh: set DOCKER_HOST to the private engine (unix:///.../d.sock)" >&2
  exit 2
fi
docker version --format 'engine {{.Server.Version}} at '"$DOCKER_HOST" >&2

# Without the buildx plugin, the classic builder still builds this Dockerfile.
if ! docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi

if [[ "${FORCE_BASE:-0}" == 1 ]] || ! docker image inspect "$base_tag" >/dev/null 2>&1; then
  echo "== making base image $base_tag" >&2
  rootfs="$work/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2

  # Node.js and npm from this machine, laid out like the official image (/usr/local), with the
  # headers so node-gyp compiles native addons (better-sqlite3) without downloading them.
  node_bin="$(readlink -f "$(command -v node)")"
  node_prefix="$(dirname "$(dirname "$node_bin")")"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  if ldd "$node_bin" | grep -q 'not found'; then
    echo "scripts/build-image.sh: $node_bin needs libraries this script does not copy" >&2
    exit 1
  fi
  install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/include"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  cp -a "$node_prefix/include/node" "$rootfs/usr/local/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The machine's TLS trust store, so npm in the build trusts what the host trusts (for
  # example a TLS-inspecting proxy's CA).
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' \
    - "$base_tag" >&2
  rm -rf "$rootfs"
fi

echo "== building $tag from $base_tag" >&2
docker build --network host --build-arg "BASE_IMAGE=$base_tag" -t "$tag" "$root" >&2

echo "== smoke test" >&2
uid="$(docker run --rm --network none --entrypoint id "$tag" -u)"
[[ "$uid" == 10001 ]] || { echo "image runs as uid $uid, expected 10001" >&2; exit 1; }
version="$(docker run --rm --network none "$tag" --version)"
[[ "$version" == "$(node -p "require('$root/package.json').version")" ]] || { echo "--version printed '$version'" >&2; exit 1; }
docker run --rm --network none "$tag" --help | grep -q 'tinyforge-reconciler migrate' || { echo "--help lacks the migrate command" >&2; exit 1; }
# The chart's sidecar runs the same image with `docker-proxy`: its argument check answers without a socket.
proxy_out="$(docker run --rm --network none "$tag" docker-proxy --socket-mode 0666 2>&1 || true)"
grep -q 'lets any user on the machine connect' <<<"$proxy_out" || { echo "docker-proxy did not check its arguments: $proxy_out" >&2; exit 1; }
# Production dependencies only.
if docker run --rm --network none --entrypoint sh "$tag" -c 'test -e /app/node_modules/typescript || test -e /app/node_modules/mocha'; then
  echo "dev dependencies found in the image" >&2
  exit 1
fi
echo "$tag"
