/**
 * What the construct library and grpc-lb-check must agree on, in one place: which Service `appProtocol` values and
 * port names each data plane balances per call, and Kubernetes' own grammars for names, label values and quantities.
 */
export * from './app-protocol';
export * from './names';
export * from './quantity';
