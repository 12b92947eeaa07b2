# Image of tinyforge-reconciler, as run by charts/tinyforge-reconciler (the reconciler and its
# docker-proxy sidecar). No `# syntax=` line: the builder's own Dockerfile frontend is used, so no
# frontend image is pulled by tag.
#
#   docker build -t tinyforge-reconciler:0.1.0 .
#   docker run --rm tinyforge-reconciler:0.1.0 --help
#
# BASE_IMAGE is any Debian-like image with Node.js 20 (>= 20.19) on PATH. The default is the
# official node:20-bookworm-slim pinned by the digest of its multi-platform index (Node.js
# 20.20.2), so a moved or poisoned tag cannot change what is built: the registry refuses a pull
# whose content does not hash to it. Move it deliberately with scripts/update-base-digest.sh,
# which resolves the tag's current digest (docker buildx imagetools, crane or skopeo) and
# rewrites this line. scripts/build-image.sh builds from a locally made base when no registry is
# reachable.
ARG BASE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0

# ---- build: compile TypeScript with the full dependency tree --------------------------------
FROM ${BASE_IMAGE} AS build
# better-sqlite3 is a native addon; when its prebuilt binary cannot be downloaded it compiles
# from source with node-gyp, which needs python3, make and a C++ compiler. A base that already
# has them skips apt.
RUN if ! command -v python3 >/dev/null || ! command -v make >/dev/null || ! command -v g++ >/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY package.json package-lock.json ./
# node-gyp takes the headers of the Node.js it runs under instead of downloading them.
RUN export npm_config_nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" \
    && npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY spec ./spec
COPY bench ./bench
COPY ormconfig.ts ./
RUN npm run build

# ---- deps: production dependencies only, from a clean install ---------------------------------
FROM build AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN export npm_config_nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" \
    && npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production
# A fixed non-root uid/gid (the chart's runAsUser/runAsGroup) with a passwd entry, so tools
# that look the user up (os.userInfo) work; no login shell, no home.
RUN (getent group 10001 >/dev/null || groupadd --system --gid 10001 tinyforge) \
    && (getent passwd 10001 >/dev/null || useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin tinyforge)
WORKDIR /app
# package.json carries "type": "module", which the compiled ESM needs at run time.
COPY --from=build /src/package.json ./package.json
COPY --from=deps /deps/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The embedded SQLite default (sqlite:./data/tinyforge.db) needs a writable directory; with
# MySQL (and in Kubernetes, where the root filesystem is read-only) it stays unused.
RUN mkdir -p /app/data && chown 10001:10001 /app/data
USER 10001:10001
EXPOSE 8080
# For plain Docker and Compose; Kubernetes uses the chart's probes instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["run"]
