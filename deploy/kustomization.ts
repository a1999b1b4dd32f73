/**
 * The file that makes each dist/ directory a Kustomize source. It is named `Kustomization`, without an extension,
 * because `kubectl apply -f DIR/` reads every .json, .yaml and .yml file in DIR as an object, and a
 * `kustomization.yaml` (kind Kustomization, which no API server serves) made it exit 1 after applying the rest.
 * Every reader recognises the bare name:
 * - Kustomize v5.5.0 (kubectl 1.32), api/konfig/general.go `RecognizedKustomizationFileNames()`: "kustomization.yaml",
 *   "kustomization.yml", "Kustomization", and "a kustomization directory may not contain more than one match";
 * - Kustomize v2.0.3 (vendored by Debian's kubectl 1.20), pkg/constants/constants.go `KustomizationFileNames`: the same;
 * - Argo CD v3.5.1, util/kustomize/kustomize.go `KustomizationNames` (the same three), which
 *   util/app/discovery/discovery.go `Discover` matches to give the directory the source type "Kustomize".
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const KUSTOMIZATION_FILE = 'Kustomization';

/** Every name Kustomize takes for a kustomization file (at most one may be in a directory). */
export const KUSTOMIZATION_FILE_NAMES: readonly string[] = [
  'kustomization.yaml',
  'kustomization.yml',
  KUSTOMIZATION_FILE,
];

/** The manifests of a synthesized directory, in apply order (their numbered names sort that way). */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.k8s.yaml'))
    .sort();
}

/** `kubectl apply -k <dir>`, `kubectl kustomize <dir>` and Argo CD read the directory through this file. */
export function writeKustomization(dir: string): void {
  const lines = [
    '# Written by `npm run synth`: the files of this directory, in apply order.',
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'resources:',
    ...manifestFiles(dir).map((file) => `  - ${file}`),
  ];
  writeFileSync(path.join(dir, KUSTOMIZATION_FILE), `${lines.join('\n')}\n`);
}
