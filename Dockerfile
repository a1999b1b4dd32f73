# syntax=docker/dockerfile:1
# Two images from one file, so the build steps are written once:
#   docker build --target server -t greeter-server .
#   docker build --target client -t greeter-client .
# The steps are the ones CI runs: `npm ci`, `npm run build:app`, and the compiled `build/server.js` is started
# by test/app/compiled.test.ts with protos/ beside it, the same layout as /srv below.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# patches/: what `postinstall` (patch-package) applies to @grpc/grpc-js; see docs/hardening.md.
COPY package.json package-lock.json ./
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.app.json ./
COPY app app
RUN npm run build:app

FROM node:20-bookworm-slim AS runtime-deps
WORKDIR /srv
COPY package.json package-lock.json ./
COPY patches patches
# cdk8s is a peer dependency of the construct library only; the images need the runtime dependencies alone
# (the gRPC packages, and @kubernetes/client-node for the client's kubernetes:/// resolver).
RUN npm ci --omit=dev --omit=peer --no-audit --no-fund && npm cache clean --force

# Distroless: no shell or package manager, runs as the numeric non-root user 65532 (runAsNonRoot can verify it).
FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
WORKDIR /srv
ENV NODE_ENV=production
COPY --from=runtime-deps /srv/node_modules node_modules
COPY protos protos
COPY --from=build /src/build app
USER 65532:65532

FROM runtime AS client
ENTRYPOINT ["/nodejs/bin/node", "app/client.js"]

FROM runtime AS server
ENV PORT=50051
EXPOSE 50051
ENTRYPOINT ["/nodejs/bin/node", "app/server.js"]
