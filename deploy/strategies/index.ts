/** Every load-balancing strategy by name: what an environment's `strategies` picks from. */
import { App } from 'cdk8s';
import { PropValidator } from '../../lib';
import { argoCdClusters, validateEnvironment, type EnvironmentConfig } from '../environments';
import type { RequiredTlsSecret, Strategy, StrategyName } from '../strategy';
import { STRATEGY_NAMES } from '../strategy';
import { endpoints } from './endpoints';
import { envoyGateway } from './envoy-gateway';
import { gatewayApi } from './gateway-api';
import { gkeGateway } from './gke-gateway';
import { headless } from './headless';
import { istioAmbient } from './istio-ambient';
import { istioIlb } from './istio-ilb';
import { istioProxyless } from './istio-proxyless';
import { k8sResolver } from './k8s-resolver';
import { linkerd } from './linkerd';
import { nginxIngress } from './nginx-ingress';

export const STRATEGIES: Record<StrategyName, Strategy> = {
  'istio-ilb': istioIlb,
  'nginx-ingress': nginxIngress,
  linkerd,
  headless,
  'gateway-api': gatewayApi,
  endpoints,
  'k8s-resolver': k8sResolver,
  'envoy-gateway': envoyGateway,
  'istio-proxyless': istioProxyless,
  'istio-ambient': istioAmbient,
  'gke-gateway': gkeGateway,
};

/** The strategies an environment picks, or an error naming the environment, the entry and the value. */
export function environmentStrategies(env: EnvironmentConfig): Strategy[] {
  validateEnvironment(env);
  const check = PropValidator.named('EnvironmentConfig', env.name);
  if (!Array.isArray(env.strategies) || env.strategies.length === 0) {
    throw check.error(
      'strategies',
      env.strategies,
      `a non-empty list of strategy names (${STRATEGY_NAMES.join(', ')})`,
    );
  }
  const strategies = env.strategies.map((name: StrategyName, index) => {
    // A name from a config file or JavaScript caller may be anything: check it before indexing.
    if (!Object.hasOwn(STRATEGIES, name))
      throw check.error(
        `strategies[${index}]`,
        name,
        `one of ${STRATEGY_NAMES.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    if (env.strategies.indexOf(name) !== index) throw check.error(`strategies[${index}]`, name, 'listed once');
    return STRATEGIES[name];
  });
  argoCdClusters(env).forEach((cluster, index) => {
    if (!env.strategies.includes(cluster.strategy)) {
      throw check.error(
        index === 0 ? 'argoCd.strategy' : `argoCd.moreClusters[${index - 1}].strategy`,
        cluster.strategy,
        `one of the environment's strategies (${env.strategies.join(', ')})`,
      );
    }
  });
  return strategies;
}

/** A TLS Secret the operator creates, and the strategies whose front door serves it. */
export interface TlsSecretUse extends RequiredTlsSecret {
  readonly strategies: readonly StrategyName[];
}

/**
 * The TLS Secrets an environment's strategies need (none where cert-manager issues them), one entry per namespace
 * and name. Renders the strategies in memory; writes nothing.
 */
export function requiredTlsSecrets(env: EnvironmentConfig): TlsSecretUse[] {
  const uses = new Map<string, { secret: RequiredTlsSecret; strategies: StrategyName[] }>();
  for (const strategy of environmentStrategies(env)) {
    const { tlsSecret } = strategy.render(new App(), env);
    if (tlsSecret === undefined) continue;
    const key = `${tlsSecret.namespace}/${tlsSecret.secretName}`;
    const use = uses.get(key) ?? { secret: tlsSecret, strategies: [] };
    use.strategies.push(strategy.name);
    uses.set(key, use);
  }
  return [...uses.values()].map(({ secret, strategies }) => ({ ...secret, strategies }));
}
