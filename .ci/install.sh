#!/usr/bin/env bash
# Idempotent system-package install for a fresh Debian 12 machine (run as root).
# Installs what the integration tests start by themselves (spec/support/*.ts): a private dockerd
# (docker.io: dockerd, containerd, runc, tini as docker-init), docker-compose v1, a static
# busybox (for the test image), mariadb-server, prometheus (promtool), unzip, podman (its Docker
# API service) and libfaketime.
# It never starts the Debian services (mariadb, docker, prometheus): the tests run their own
# servers on private sockets/ports. Fast no-op when everything is already there
# (TF_INSTALL_FORCE=1 runs apt-get anyway).
set -euo pipefail

# busybox-static: /bin/busybox must be the static build (the test image has no libc).
# podman (+ conmon, containers-common; without recommends, so no slirp4netns, fuse-overlayfs or
# buildah: the tests run it rootful with --network none and the vfs driver) serves the Docker API
# for the Podman specs. Its OCI runtime is docker.io's runc: crun refuses this machine's hybrid
# cgroup v1 layout ("cgroups in hybrid mode not supported"), so spec/support/podman.ts pins runc.
# libfaketime runs a child process with a shifted clock (spec/support/faketime.ts).
# openssl makes the test certificates of the MariaDB TLS specs; galera-4 and rsync run the 3-node
# MariaDB Galera cluster of the Galera specs (rsync is its state snapshot transfer).
PACKAGES=(docker.io docker-compose busybox-static mariadb-server prometheus unzip ca-certificates
  podman conmon golang-github-containers-common libfaketime openssl galera-4 rsync)
# Files the tests rely on (a package can be "installed" while a file is missing, or the reverse).
BINARIES=(
  /usr/sbin/dockerd /usr/bin/docker /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc
  /usr/bin/docker-init /usr/bin/docker-compose /bin/busybox
  /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/promtool /usr/bin/unzip /usr/bin/setpriv
  /usr/bin/podman /usr/bin/conmon /usr/bin/openssl /usr/bin/rsync
)
# Libraries (not executable, so checked with -f) the tests LD_PRELOAD.
LIBRARIES=(/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/galera/libgalera_smm.so)

missing=()
for b in "${BINARIES[@]}"; do
  [ -x "$b" ] || missing+=("$b")
done
for l in "${LIBRARIES[@]}"; do
  [ -f "$l" ] || missing+=("$l")
done
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("package:$p")
done

if [ "${#missing[@]}" -eq 0 ] && [ -z "${TF_INSTALL_FORCE:-}" ]; then
  echo "install.sh: all system packages present; nothing to do"
  exit 0
fi
echo "install.sh: installing (missing: ${missing[*]:-none, forced})"

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: must run as root to apt-get install" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
# Keep the packages' maintainer scripts from starting system services (invoke-rc.d /
# deb-systemd-invoke honour policy-rc.d; exit 101 = "action forbidden"). Only a policy-rc.d that
# this script creates is removed again.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt_opts=(-o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}"

still=()
for b in "${BINARIES[@]}"; do [ -x "$b" ] || still+=("$b"); done
for l in "${LIBRARIES[@]}"; do [ -f "$l" ] || still+=("$l"); done
if [ "${#still[@]}" -ne 0 ]; then
  echo "install.sh: still missing after apt-get install: ${still[*]}" >&2
  exit 1
fi
echo "install.sh: done"
