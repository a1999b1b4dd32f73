/** Every rule `grpc-lb-check` runs, in the order its help and SARIF list them. */
import type { Rule } from '../findings';
import { pickFirstRule, maxConnectionAgeRule } from './client-side';
import { rule as clusterIpRule } from './clusterip-balancing';
import { rule as duplicateRule } from './duplicates';
import { rule as gkeInternalLbRule } from './gke-internal-lb';
import { rule as ingressNginxRule } from './ingress-nginx';
import { gracePeriodRule, readinessRule } from './pod-lifecycle';
import { rule as protocolRule } from './protocol';
import { credentialNamespaceRule, gatewayWorkloadRule, unknownPortRule, unknownServiceRule } from './references';
import { celRule, schemaRule, unknownKindRule } from './validation';

export const RULES: readonly Rule[] = [
  clusterIpRule,
  protocolRule,
  pickFirstRule,
  maxConnectionAgeRule,
  unknownServiceRule,
  unknownPortRule,
  gatewayWorkloadRule,
  credentialNamespaceRule,
  gracePeriodRule,
  readinessRule,
  ingressNginxRule,
  gkeInternalLbRule,
  schemaRule,
  celRule,
  unknownKindRule,
  duplicateRule,
];
