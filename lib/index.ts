/**
 * The public API of the construct library: what other repositories import. Hand-written on purpose: helpers stay
 * internal, and every name here is documented in API.md.
 */
export { AppNamespace, type AppNamespaceProps } from './app-namespace';
export { CloudEndpointsProxy, type CloudEndpointsProxyProps } from './cloud-endpoints-proxy';
export type { ContainerImage, ContainerResources } from './container';
export { EndpointSliceReader, type EndpointSliceReaderProps } from './endpoint-slice-reader';
export { EnvoyGatewayGrpcPolicy, type EnvoyGatewayGrpcPolicyProps } from './envoy-gateway-grpc-policy';
export { GrpcApp, type GrpcAppProps } from './grpc-app';
export { GrpcBackend, type GrpcServiceReference, type IGrpcBackend, type MeshIdentity } from './grpc-backend';
export { DEFAULT_GRPC_CLIENT_POLICY, type GrpcClientPolicy } from './grpc-client-policy';
export type { IGrpcEndpoint } from './grpc-endpoint';
export { GrpcGateway, type GrpcGatewayProps } from './grpc-gateway';
export { GrpcRoute, type GrpcRouteProps } from './grpc-route';
export { GrpcVirtualService, type GrpcRetryPolicy, type GrpcVirtualServiceProps } from './grpc-virtual-service';
export { HeadlessGrpcService, type HeadlessGrpcServiceProps } from './headless-grpc-service';
export { IstioIlbGateway, type IstioIlbGatewayProps } from './istio-ilb-gateway';
export { LinkerdGrpcPolicy, type LinkerdGrpcPolicyProps } from './linkerd-grpc-policy';
export { GKE_INTERNAL_LOAD_BALANCER } from './load-balancer';
export { MeshAccessPolicy, type MeshAccessPolicyProps } from './mesh-access-policy';
export { existingNamespace, type INamespace } from './namespace';
export { NginxGrpcIngress, type NginxGrpcIngressProps } from './nginx-grpc-ingress';
export { SelfSignedCertificate, type SelfSignedCertificateProps } from './self-signed-certificate';
