# syntax=docker/dockerfile:1
# Two images from one file, so the build steps are written once:
#   docker build --target server -t greeter-server .
#   docker build --target client -t greeter-client .
# The steps are the ones CI runs: `npm ci`, `npm run build:app`, and the compiled `build/server.js` is started
# by test/app/compiled.test.ts with protos/ beside it, the same layout as /srv below.
# Node 24 LTS throughout. Distroless builds its Node images on Debian 13 only (GoogleContainerTools/distroless
# nodejs/config.bzl: NODEJS_DISTROS = ["debian13"], majors 22, 24, 26), so the build stages use Debian 13 (trixie) too.
ARG NODE_MAJOR=24

FROM node:${NODE_MAJOR}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Every workspace's manifest, as npm ci reads them all.
COPY common/package.json common/
COPY lib/package.json lib/
COPY check/package.json check/
COPY resolver/package.json resolver/
COPY app/package.json app/
# patches/: what `postinstall` (patch-package) applies to @grpc/grpc-js; see docs/hardening.md.
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.app.json ./
# The client's kubernetes:/// resolver is the workspace package grpc-js-kubernetes-resolver: build:app compiles it too.
COPY resolver resolver
COPY app app
RUN npm run build:app

FROM node:${NODE_MAJOR}-trixie-slim AS runtime-deps
WORKDIR /srv
COPY package.json package-lock.json ./
# Every workspace's manifest, as npm ci reads them all.
COPY common/package.json common/
COPY lib/package.json lib/
COPY check/package.json check/
COPY resolver/package.json resolver/
COPY app/package.json app/
# patches/: what `postinstall` (patch-package) applies to @grpc/grpc-js; see docs/hardening.md.
COPY patches patches
# The app workspace's dependencies alone (the gRPC packages, and grpc-js-kubernetes-resolver with its
# @kubernetes/client-node): the root's are the repository's dev tools, and cdk8s is a peer of the construct library.
RUN npm ci --workspace app --omit=dev --omit=peer --no-audit --no-fund && npm cache clean --force

# Distroless: no shell or package manager, runs as the numeric non-root user 65532 (runAsNonRoot can verify it).
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian13:nonroot AS runtime
WORKDIR /srv
ENV NODE_ENV=production
COPY --from=runtime-deps /srv/node_modules node_modules
# node_modules/grpc-js-kubernetes-resolver links to ../resolver, the workspace: its manifest and compiled code.
COPY --from=build /src/resolver/package.json resolver/
COPY --from=build /src/resolver/build resolver/build
COPY protos protos
COPY --from=build /src/build app
USER 65532:65532

FROM runtime AS client
ENTRYPOINT ["/nodejs/bin/node", "app/client.js"]

FROM runtime AS server
ENV PORT=50051
EXPOSE 50051
ENTRYPOINT ["/nodejs/bin/node", "app/server.js"]
