#!/usr/bin/env bash
# Regenerates imports/ offline from the CRDs in upstream/crds (the same versions cdk8s.yaml names upstream): Istio
# 1.30.3, and the Gateway API v1.6.1 and Envoy Gateway v1.9.0 (EnvoyProxy, BackendTrafficPolicy) kinds the constructs
# use. Only the API groups lib/ uses are kept: the rest would only slow type-checking. --no-save: cdk8s import would
# otherwise rewrite cdk8s.yaml's imports with these paths.
# Usage: npm run import [-- <output dir>]   (default imports/; a test writes to a temp dir and compares)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-imports}
[ -d "$out" ] || { echo "import: output directory $out not found" >&2; exit 2; }
crds=upstream/crds
istio=$crds/istio-1.30.3-crds.yaml
gateway_api=("$crds"/gateway-api-v1.6.1-{gateways,grpcroutes,referencegrants}.yaml)
envoy_gateway=("$crds"/envoy-gateway-v1.9.0-{backendtrafficpolicies,envoyproxies}.yaml)
for file in "$istio" "${gateway_api[@]}" "${envoy_gateway[@]}"; do
  [ -f "$file" ] || { echo "import: $file not found (see upstream/sources.json)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cdk8s_import() { npx cdk8s import --no-check-upgrade --no-save "$1" --language typescript --output "$work" >/dev/null; }

cdk8s_import "$istio"
# Given several files, cdk8s import generated the kinds of the first only: one multi-document file (in the temp dir,
# never the repo) instead.
import_all() {
  local bundle=$1; shift
  for file in "$@"; do cat "$file"; echo '---'; done >"$work/$bundle.yaml"
  cdk8s_import "$work/$bundle.yaml"
}
import_all gateway-api-v1.6.1 "${gateway_api[@]}"
import_all envoy-gateway-v1.9.0 "${envoy_gateway[@]}"

groups=(networking.istio.io security.istio.io gateway.networking.k8s.io gateway.envoyproxy.io)
for group in "${groups[@]}"; do
  cp "$work/$group.ts" "$out/$group.ts"
done
echo "$out/: ${groups[*]/%/.ts} regenerated from $istio, ${gateway_api[*]} and ${envoy_gateway[*]}"
