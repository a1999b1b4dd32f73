import { Yaml } from 'cdk8s';
import type { Construct } from 'constructs';
import * as k8s from '../imports/k8s';

/** What Istio's deployment controller is told about the Deployment it generates for one Gateway. */
export interface IstioGatewayOptions {
  /** Name and namespace of the ConfigMap (the Gateway's own namespace: `parametersRef` names no namespace). */
  readonly name: string;
  readonly namespace: string;
  /** Gateway pods; more than one also gets a PodDisruptionBudget allowing one pod down at a time. */
  readonly replicas: number;
  /**
   * The pods' seccomp profile `RuntimeDefault`, which the Pod Security "restricted" level requires and Istio's
   * templates set only when installed with `gateways.seccompProfile`.
   * @default false
   */
  readonly runtimeDefaultSeccomp?: boolean;
}

/**
 * The ConfigMap a Gateway's `spec.infrastructure.parametersRef` names, whose entries Istio strategic-merges into the
 * ServiceAccount and Deployment it generates for that Gateway (any class: the `istio` gateway and `istio-waypoint`
 * waypoints alike), and from which alone it creates a PodDisruptionBudget (1.30.3
 * pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go render and applyOverlay): one pod down at a time, as
 * minAvailable (the form Istio's documentation shows). No API token: pilot-agent uses the projected istio-token its
 * templates mount (istio-discovery/files/kube-gateway.yaml and waypoint.yaml).
 */
export function istioGatewayOptions(scope: Construct, id: string, options: IstioGatewayOptions): k8s.KubeConfigMap {
  const { replicas } = options;
  const podSpec = {
    automountServiceAccountToken: false,
    ...(options.runtimeDefaultSeccomp ? { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } } : {}),
  };
  return new k8s.KubeConfigMap(scope, id, {
    metadata: { name: options.name, namespace: options.namespace },
    data: {
      serviceAccount: Yaml.stringify({ automountServiceAccountToken: false }),
      deployment: Yaml.stringify({ spec: { replicas, template: { spec: podSpec } } }),
      ...(replicas > 1 ? { podDisruptionBudget: Yaml.stringify({ spec: { minAvailable: replicas - 1 } }) } : {}),
    },
  });
}

/** How a Gateway names that ConfigMap in `spec.infrastructure.parametersRef`. */
export function istioGatewayOptionsRef(options: k8s.KubeConfigMap): { group: string; kind: string; name: string } {
  return { group: '', kind: 'ConfigMap', name: options.name };
}
