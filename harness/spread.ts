/** How one client's calls spread over the pods behind a path: what the demo prints and the tests assert. */
import { formatPodRows, type RunResult } from '../app/client';

export interface Spread {
  /** Replies per pod, every expected pod included (0 when it got none), plus any pod that was not expected. */
  byPod: Map<string, number>;
  replies: number;
  /** Pods that got at least one call, of `pods.length`. */
  reached: number;
  pods: number;
  /** Most calls on one pod over fewest on another: 1 is perfect balance, Infinity means a pod got none. */
  maxMinRatio: number;
  /** The largest distance of a pod's share from 1/N, in percentage points. */
  maxDeviationPoints: number;
  /** Standard deviation of the per-pod counts over their mean (population form): 0 is perfect balance, √(N−1) all on one pod. */
  coefficientOfVariation: number;
}

export function spreadOver(pods: readonly string[], result: RunResult): Spread {
  const byPod = new Map<string, number>(pods.map((pod) => [pod, 0]));
  for (const [pod, count] of result.byPod) byPod.set(pod, (byPod.get(pod) ?? 0) + count);
  const replies = result.calls - result.failures;
  const counts = [...byPod.values()];
  const fair = 1 / pods.length;
  const mean = replies / counts.length;
  const variance = counts.reduce((sum, count) => sum + (count - mean) ** 2, 0) / counts.length;
  return {
    byPod,
    replies,
    reached: pods.filter((pod) => byPod.get(pod)! > 0).length,
    pods: pods.length,
    maxMinRatio: Math.min(...counts) === 0 ? Infinity : Math.max(...counts) / Math.min(...counts),
    maxDeviationPoints:
      replies === 0 ? 100 : Math.max(...counts.map((count) => Math.abs(count / replies - fair))) * 100,
    coefficientOfVariation: replies === 0 ? NaN : Math.sqrt(variance) / mean,
  };
}

/** A bar per pod, then one line: calls, failures, share of pods reached and max/min. */
export function formatSpread(spread: Spread, result: RunResult): string {
  const failures = [...result.byStatus].map(([status, count]) => ` (${status}=${count})`).join('');
  const ratio = Number.isFinite(spread.maxMinRatio) ? `${spread.maxMinRatio.toFixed(2)}` : '∞ (a pod got no call)';
  const reachedPercent = Math.round((spread.reached / spread.pods) * 100);
  return [
    ...formatPodRows(spread.byPod, spread.replies),
    `  ${result.calls} calls, ${result.failures} failed${failures} · pods reached ${spread.reached}/${spread.pods} (${reachedPercent}%) · max/min ${ratio}`,
  ].join('\n');
}
