# microtune container image: a build stage compiles the TypeScript, and the
# runtime stage holds the compiled JavaScript, production dependencies only,
# and the bundled config and packs as defaults under /app/config and /app/packs.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build


FROM node:22-bookworm-slim AS runtime

# A fixed uid/gid of our own, so mounted files can be made readable by it,
# without depending on the base image's `node` user.
RUN groupadd --system --gid 10001 microtune \
 && useradd --system --uid 10001 --gid microtune --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin microtune

WORKDIR /app
ENV NODE_ENV=production

# --ignore-scripts keeps package code from running at build time. No production
# dependency has an install script (scripts/container-smoke.sh checks this).
# npm's cache and logs are removed in the same layer.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf /root/.npm /tmp/node-compile-cache

# Files stay owned by root, so the server cannot change its own code or defaults.
COPY --from=build /app/dist ./dist
COPY config ./config
COPY packs ./packs

ENV HOST=0.0.0.0 \
    PORT=8787 \
    MICROTUNE_CONFIG=/app/config/microtune.yaml

USER 10001:10001
EXPOSE 8787

# The slim image has no curl, so node probes /healthz on the port the server uses.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:' + (process.env.PORT || 8787) + '/healthz', { timeout: 4000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1))"]

# On SIGTERM the server stops accepting requests, gives those in flight
# server.shutdownGraceMs (default 10 s) to finish, and exits 0. Run it with
# --init (or `init: true` in compose) and a stop timeout above that grace period.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
