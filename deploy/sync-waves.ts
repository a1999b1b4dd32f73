import { ApiObject, Chart, type App } from 'cdk8s';
import { SYNC_WAVE_ANNOTATION } from './argo-cd-application';

/**
 * Gives every object an Argo CD sync wave from its chart's place in the chart dependencies: a chart's wave is one
 * more than the highest wave of the charts it depends on. So the Namespace syncs first (wave 0), the workloads and
 * the gateway next, and the routes and policies that refer to them after those are healthy, the same order the file
 * numbers give `kubectl apply -f`.
 */
export function annotateSyncWaves(app: App): void {
  const waves = new Map<Chart, number>();
  const waveOf = (chart: Chart, path: readonly Chart[] = []): number => {
    const known = waves.get(chart);
    if (known !== undefined) return known;
    if (path.includes(chart))
      throw new Error(`chart dependency cycle: ${[...path, chart].map((c) => c.node.id).join(' -> ')}`);
    const after = chart.node.dependencies.filter((d): d is Chart => d instanceof Chart);
    const wave = after.length === 0 ? 0 : Math.max(...after.map((d) => waveOf(d, [...path, chart]))) + 1;
    waves.set(chart, wave);
    return wave;
  };
  for (const chart of app.charts) {
    const wave = String(waveOf(chart));
    for (const child of chart.node.findAll()) {
      if (child instanceof ApiObject) child.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, wave);
    }
  }
}
