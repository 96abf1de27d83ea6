# syntax=docker/dockerfile:1
# goqueue broker image: the native core built from this checkout, the compiled TypeScript and
# the production dependencies on a slim Node runtime, running as the unprivileged `node` user
# (uid 1000).
#
#   docker build -t goqueue .
#   docker run -p 9092:9092 -v goqueue-data:/var/lib/goqueue goqueue
#
# A 3-broker cluster: docker-compose.yml. Settings: GOQUEUE_* variables (docs/configuration.md).

ARG NODE_VERSION=20
ARG RUST_VERSION=1

FROM node:${NODE_VERSION}-bookworm AS node

# 1. Build: napi build (Rust) and tsc. Node comes from the official image, Rust from its own.
FROM rust:${RUST_VERSION}-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY tsconfig.json tsconfig.build.json index.d.ts ./
COPY src src
RUN npm run build:native -- --locked && npm run build:ts

# 2. Production dependencies only (the platform package is the module built above).
FROM node:${NODE_VERSION}-bookworm-slim AS dependencies
WORKDIR /opt/goqueue
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 3. Runtime.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/goqueue
COPY --from=dependencies /opt/goqueue/node_modules node_modules
COPY --from=build /src/package.json /src/index.js /src/index.d.ts ./
COPY --from=build /src/goqueue.*.node ./
COPY --from=build /src/dist/src dist/src
COPY bin bin
COPY docker/entrypoint.sh docker/healthcheck.js docker/
RUN ln -s /opt/goqueue/bin/goqueue.js /usr/local/bin/goqueue \
 && mkdir -p /var/lib/goqueue \
 && chown 1000:1000 /var/lib/goqueue
# The image's `node` user, by number (Kubernetes' runAsNonRoot checks a numeric id).
USER 1000:1000
VOLUME /var/lib/goqueue
# 9092: Kafka clients; 9093: Raft between brokers.
EXPOSE 9092 9093
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/goqueue/docker/healthcheck.js"]
ENTRYPOINT ["/opt/goqueue/docker/entrypoint.sh"]
CMD ["broker"]
