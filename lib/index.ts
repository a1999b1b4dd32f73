/**
 * The public API of the construct library: what other repositories import. Hand-written on purpose: helpers stay
 * internal, and every name here is documented in API.md.
 */
export { AmbientAccessPolicy, type AmbientAccessPolicyProps } from './ambient-access-policy';
export { AppNamespace, type AppNamespaceProps } from './app-namespace';
export { CloudEndpointsProxy, type CloudEndpointsProxyProps } from './cloud-endpoints-proxy';
export type {
  ContainerImage,
  ContainerPort,
  ContainerResources,
  ResourceLimits,
  ResourceRequests,
  WorkloadAutoscaling,
} from './container';
export { EndpointSliceReader, type EndpointSliceReaderProps } from './endpoint-slice-reader';
export { EnvoyGatewayClass, type EnvoyGatewayClassProps } from './envoy-gateway-class';
export { EnvoyGatewayGrpcPolicy, type EnvoyGatewayGrpcPolicyProps } from './envoy-gateway-grpc-policy';
export { GkeGateway, type GkeGatewayProps } from './gke-gateway';
export { GkeGrpcBackendPolicy, type GkeGrpcBackendPolicyProps } from './gke-grpc-backend-policy';
export { GrpcApp, type GrpcAppProps } from './grpc-app';
export { GrpcBackend, type GrpcServiceReference, type IGrpcBackend, type MeshIdentity } from './grpc-backend';
export { DEFAULT_GRPC_CLIENT_POLICY, type GrpcClientPolicy } from './grpc-client-policy';
export type { IGrpcEndpoint } from './grpc-endpoint';
export {
  ENVOY_GATEWAY_CLASS,
  GrpcGateway,
  ISTIO_GATEWAY_CLASS,
  type GrpcGatewayAttributes,
  type GrpcGatewayListener,
  type GrpcGatewayProps,
  type IGrpcGateway,
} from './grpc-gateway';
export type {
  EnvoyGatewayRetryCondition,
  EnvoyGatewayRetryPolicy,
  GrpcRetryPolicy,
  IstioRetryCondition,
  IstioRetryPolicy,
  LinkerdRetryCondition,
  LinkerdRetryPolicy,
} from './grpc-retry-policy';
export { GrpcHttpRoute } from './grpc-http-route';
export { GrpcRoute, type GrpcRouteProps, type IGrpcRoute } from './grpc-route';
export { GrpcVirtualService, type GrpcVirtualServiceProps } from './grpc-virtual-service';
export { HeadlessGrpcService, type HeadlessGrpcServiceProps } from './headless-grpc-service';
export {
  IstioIlbGateway,
  type IIstioGateway,
  type IstioGatewayAttributes,
  type IstioIlbGatewayProps,
} from './istio-ilb-gateway';
export { IstioWaypoint, type IIstioWaypoint, type IstioWaypointProps } from './istio-waypoint';
export { IstioProxylessGrpcPolicy, type IstioProxylessGrpcPolicyProps } from './istio-proxyless-grpc-policy';
export { LinkerdGrpcPolicy, type LinkerdGrpcPolicyProps } from './linkerd-grpc-policy';
export { GKE_INTERNAL_LOAD_BALANCER } from './load-balancer';
export { MeshAccessPolicy, type MeshAccessPolicyProps } from './mesh-access-policy';
export { MeshGrpcRoute, type MeshGrpcRouteProps } from './mesh-grpc-route';
export { existingNamespace, type INamespace } from './namespace';
export type { Mesh } from 'grpc-k8s-lb-common';
export { NginxGrpcIngress, type NginxGrpcIngressProps } from './nginx-grpc-ingress';
export { PropValidator } from './prop-validator';
export { SelfSignedCertificate, type SelfSignedCertificateProps } from './self-signed-certificate';
export { restrictedSecurityContext, workloadLabels } from './internal/workload';
// Kubernetes' own types where props take them, from the library's generated L1 classes (Kubernetes 1.32).
export type {
  Affinity,
  EnvVar,
  PodSecurityContext,
  Probe,
  ResourceRequirements,
  SecurityContext,
  Toleration,
  Volume,
  VolumeMount,
} from './imports/k8s';
