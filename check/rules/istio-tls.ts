/** A DestinationRule that makes callers speak Istio mTLS to pods that have no sidecar to answer it. */
import { describe, type Finding, type Rule } from '../findings';

export const rule: Rule = {
  id: 'istio-mutual-without-sidecar',
  title: 'DestinationRule with tls mode ISTIO_MUTUAL toward pods without an Istio sidecar',
  why: "ISTIO_MUTUAL makes the caller's sidecar open Istio mTLS to each endpoint; a pod without a sidecar answers with plain gRPC (or its own TLS), the handshake fails, and every call fails with UNAVAILABLE.",
  source: 'istio/api v1.30.3 networking/v1alpha3/destination_rule.proto (ClientTLSSettings.TLSmode ISTIO_MUTUAL)',
  severity: 'error',
  check({ graph }) {
    return graph.routes.flatMap((route): Finding[] => {
      const service = route.service;
      if (route.tlsMode !== 'ISTIO_MUTUAL' || service === undefined || service.workloads.length === 0) return [];
      // Only when the input shows every pod's mesh: injection set on a namespace outside the input is unknown.
      const plain = service.workloads.filter((w) => w.mesh.known && w.mesh.kind !== 'istio-sidecar');
      if (plain.length === 0 || plain.length < service.workloads.length) return [];
      return [
        {
          rule: rule.id,
          severity: 'error',
          object: route.route,
          path: route.anyPort ? 'spec.trafficPolicy.tls.mode' : route.path.replace(/\.port$/, '.tls.mode'),
          message: `sets tls mode ISTIO_MUTUAL for ${describe(service.ref)}, whose pods have no Istio sidecar (${plain.map((w) => `${describe(w.ref)}: ${w.mesh.because}`).join('; ')})`,
          fix: `inject the sidecar into ${plain.map((w) => describe(w.ref)).join(', ')} (remove sidecar.istio.io/inject: "false", or label the namespace istio-injection=enabled), or set tls mode DISABLE (or SIMPLE/MUTUAL with the pods' own certificates)`,
          related: [service.ref, ...plain.map((w) => w.ref)],
        },
      ];
    });
  },
};
