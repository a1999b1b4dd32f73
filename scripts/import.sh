#!/usr/bin/env bash
# Regenerates the generated code offline, from the files vendored in upstream/ (the versions cdk8s.yaml and
# upstream/sources.json name):
#   lib/imports/  the construct library's own L1 classes: Kubernetes 1.32 (only the kinds the library renders, so the
#                 package needs no cdk8s-plus), Istio 1.30.3, and the Gateway API v1.6.1, Envoy Gateway v1.9.0 and
#                 GKE Gateway policy (gke-gateway-api v1.4.0) kinds its constructs use (only the API groups lib/ uses
#                 are kept: the rest would only slow type-checking);
#   imports/      this repository's deployment's own: Argo CD v3.5.1's Application (deploy/argo-cd-application.ts).
# --no-save: cdk8s import would otherwise rewrite cdk8s.yaml's imports with these paths.
# Usage: npm run import [-- <output dir>]   (default: the repository; a test writes to a temp dir and compares:
#        <output dir>/lib/imports and <output dir>/imports)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.}
for dir in "$out/lib/imports" "$out/imports"; do
  [ -d "$dir" ] || { echo "import: output directory $dir not found" >&2; exit 2; }
done
crds=upstream/crds
k8s_definitions=upstream/schemas/k8s-v1.32.0-definitions.json
istio=$crds/istio-1.30.3-crds.yaml
gateway_api=("$crds"/gateway-api-v1.6.1-{gatewayclasses,gateways,grpcroutes,httproutes,referencegrants}.yaml)
envoy_gateway=("$crds"/envoy-gateway-v1.9.0-{backendtrafficpolicies,envoyproxies}.yaml)
gke_gateway=("$crds"/gke-gateway-api-v1.4.0-{healthcheckpolicies,gcpbackendpolicies}.yaml)
argo_cd=$crds/argo-cd-v3.5.1-applications.yaml
for file in "$k8s_definitions" "$istio" "${gateway_api[@]}" "${envoy_gateway[@]}" "${gke_gateway[@]}" "$argo_cd"; do
  [ -f "$file" ] || { echo "import: $file not found (see upstream/sources.json)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cdk8s_import() { npx cdk8s import --no-check-upgrade --no-save "$1" --language typescript --output "$work" >/dev/null; }

# The kinds the library renders: Kubernetes' L1 classes for them and every type they reach.
k8s_kinds=(Namespace Deployment Service ServiceAccount Role RoleBinding ConfigMap PodDisruptionBudget Ingress HorizontalPodAutoscaler)
node scripts/import-k8s.js "$k8s_definitions" "$out/lib/imports/k8s.ts" "${k8s_kinds[@]}"

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
import_all gke-gateway-api-v1.4.0 "${gke_gateway[@]}"
cdk8s_import "$argo_cd"

groups=(networking.istio.io security.istio.io gateway.networking.k8s.io gateway.envoyproxy.io networking.gke.io)
for group in "${groups[@]}"; do
  cp "$work/$group.ts" "$out/lib/imports/$group.ts"
done
cp "$work/argoproj.io.ts" "$out/imports/argoproj.io.ts"
echo "$out/lib/imports/: k8s.ts (${k8s_kinds[*]}) from $k8s_definitions; ${groups[*]/%/.ts} from $istio, ${gateway_api[*]}, ${envoy_gateway[*]} and ${gke_gateway[*]}"
echo "$out/imports/: argoproj.io.ts from $argo_cd"
