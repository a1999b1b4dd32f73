/** The public library surface: what other repositories import. */
export * from './app-namespace';
export * from './environments';
export * from './greeter-app';
export * from './greeter-client-test';
export * from './grpc-virtual-service';
export * from './istio-ilb-gateway';
export * from './istio-ilb-walkthrough';
export * from './mesh-access-policy';
export * from './self-signed-certificate';
export * from './validate';
export * from './workload';
