/**
 * Services with no endpoints for what they promise: a selector that matches no pod template, and a named targetPort
 * that no container of the selected pods declares. Either way every gRPC call to them fails with UNAVAILABLE.
 */
import { absentSeverity, describe, describeSelector, type Finding, type Rule } from '../findings';
import { targetOf } from '../graph';

export const selectsNothingRule: Rule = {
  id: 'service-selects-nothing',
  title: 'Service whose selector matches no pod template in the input',
  why: 'The endpoints of a Service are the ready pods its selector matches: with none, the ClusterIP (or the DNS name of a headless Service) leads nowhere and every gRPC call to it fails with UNAVAILABLE.',
  source:
    'https://kubernetes.io/docs/concepts/services-networking/service/#services-in-kubernetes (selector and EndpointSlices)',
  severity: 'error',
  check(context) {
    return context.graph.services
      .filter((s) => Object.keys(s.selector).length > 0 && s.type !== 'ExternalName' && s.workloads.length === 0)
      .map((service): Finding => ({
        rule: selectsNothingRule.id,
        severity: absentSeverity(context),
        object: service.ref,
        path: 'spec.selector',
        message: `selector ${describeSelector(service.selector)} matches no pod template in namespace ${service.namespace} of the input: ${context.partial ? 'unless pods made outside the input (by an operator, another release) carry those labels, ' : ''}the Service has no endpoints`,
        fix: 'make the selector the labels of the pod template that serves it (spec.template.metadata.labels), or add that workload; if an operator creates the pods outside this input, check with --partial',
        related: [],
      }));
  },
};

export const targetPortRule: Rule = {
  id: 'target-port-unknown',
  title: 'Service targetPort naming a port no container of its pods declares',
  why: "A named targetPort is looked up in each selected pod's container ports: a pod without a port of that name is no endpoint for it, so with none the Service port has no endpoints and every gRPC call to it fails.",
  source:
    'https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports (targetPort by name); k8s.io/kubernetes pkg/api/v1/pod FindPort',
  severity: 'error',
  check({ graph }) {
    return graph.services.flatMap((service) =>
      service.ports
        .filter(
          (port) =>
            typeof port.targetPort === 'string' &&
            service.workloads.length > 0 &&
            service.workloads.every((w) => targetOf(w, port.targetPort) === undefined),
        )
        .map((port): Finding => {
          const declared = service.workloads.flatMap((w) =>
            w.pod.containers.flatMap((c) => c.ports.map((p) => `${p.name ?? '(unnamed)'} ${p.containerPort}`)),
          );
          return {
            rule: targetPortRule.id,
            severity: 'error',
            object: service.ref,
            path: `${port.path}.targetPort`,
            message: `targetPort "${port.targetPort}" is a name no container of ${service.workloads.map((w) => describe(w.ref)).join(', ')} declares (${declared.length > 0 ? `they declare ${[...new Set(declared)].join(', ')}` : 'they declare no ports'}): port ${port.name ?? port.port} has no endpoints`,
            fix: `name the container port "${port.targetPort}" (ports[].name), or set targetPort to the container port's name or number`,
            related: service.workloads.map((w) => w.ref),
          };
        }),
    );
  },
};
