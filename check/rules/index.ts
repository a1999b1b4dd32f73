/** Every rule `grpc-lb-check` runs, in the order its help and SARIF list them. */
import type { Rule } from '../findings';
import { pickFirstRule, maxConnectionAgeRule } from './client-side';
import { rule as clusterIpRule } from './clusterip-balancing';
import { rule as duplicateRule } from './duplicates';
import { rule as gkeHealthCheckRule } from './gke-health-check';
import { rule as gkeInternalLbRule } from './gke-internal-lb';
import { rule as ignoreRule } from './ignore';
import { rule as ingressNginxRule } from './ingress-nginx';
import { rule as istioMutualRule } from './istio-tls';
import { rule as l4Rule } from './l4-load-balancer';
import { gracePeriodRule, readinessRule } from './pod-lifecycle';
import { rule as protocolRule } from './protocol';
import {
  credentialNamespaceRule,
  gatewayWorkloadRule,
  unknownParentRule,
  unknownPortRule,
  unknownServiceRule,
} from './references';
import { rule as removedApiRule } from './removed-api';
import { selectsNothingRule, targetPortRule } from './service-endpoints';
import { celRule, schemaRule, unknownKindRule } from './validation';

export const RULES: readonly Rule[] = [
  clusterIpRule,
  l4Rule,
  protocolRule,
  pickFirstRule,
  maxConnectionAgeRule,
  selectsNothingRule,
  targetPortRule,
  unknownServiceRule,
  unknownPortRule,
  unknownParentRule,
  gatewayWorkloadRule,
  credentialNamespaceRule,
  istioMutualRule,
  gracePeriodRule,
  readinessRule,
  ingressNginxRule,
  gkeInternalLbRule,
  gkeHealthCheckRule,
  removedApiRule,
  schemaRule,
  celRule,
  unknownKindRule,
  duplicateRule,
  ignoreRule,
];
