/**
 * The strategies' names, on their own: environments.ts lists them per environment, and strategy.ts, which imports
 * environments.ts to render for one, names each strategy by them.
 */

/** The ways out of L4 stickiness this project renders, by the name an environment picks them with. */
export const STRATEGY_NAMES = [
  'istio-ilb',
  'nginx-ingress',
  'linkerd',
  'headless',
  'gateway-api',
  'endpoints',
  'k8s-resolver',
  'envoy-gateway',
  'istio-proxyless',
  'istio-ambient',
  'gke-gateway',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
