#!/usr/bin/env bash
# Regenerates imports/ offline from the Istio 1.30.3 CRDs in ../shared/crds (the same file cdk8s.yaml names
# upstream). Only the API groups the constructs use are kept: the rest would only slow type-checking.
set -euo pipefail
cd "$(dirname "$0")/.."
crds=../shared/crds/istio-1.30.3-crds.yaml
[ -f "$crds" ] || { echo "import: $crds not found (expected beside this repository)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npx cdk8s import --no-check-upgrade "$crds" --language typescript --output "$work" >/dev/null
for group in networking.istio.io security.istio.io; do
  cp "$work/$group.ts" "imports/$group.ts"
done
echo "imports/: networking.istio.io.ts security.istio.io.ts regenerated from $crds"
