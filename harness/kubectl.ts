/**
 * The real kubectl for tests: the one on PATH, or the binary named by KUBECTL (to try another version, such as
 * Debian's kubernetes-client 1.20, which .ci/run installs where none is).
 */
import { execFile, spawnSync } from 'node:child_process';

export const KUBECTL = process.env.KUBECTL ?? 'kubectl';
export const KUBECTL_INSTALL_HINT = 'apt-get install -y kubernetes-client';

/** Why kubectl cannot run here, or undefined when it can. */
export function kubectlMissing(): string | undefined {
  return spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' }).status === 0
    ? undefined
    : `${KUBECTL} is not installed`;
}

export interface KubectlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs kubectl to completion (bounded by timeoutMs), without a shell. Asynchronous, so that a server in this process
 * (harness/kube-discovery.ts) can answer it.
 */
export function kubectl(args: readonly string[], timeoutMs = 30_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(KUBECTL, args, { encoding: 'utf8', timeout: timeoutMs }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}
