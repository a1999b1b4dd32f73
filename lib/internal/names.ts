/** The names Kubernetes derives from others: one helper per derived fact. */

/** A Service's cluster DNS name, as clients dial it and Istio routes and DestinationRules name their host. */
export function serviceDnsName(serviceName: string, namespace: { readonly name: string }): string {
  return `${serviceName}.${namespace.name}.svc.cluster.local`;
}
