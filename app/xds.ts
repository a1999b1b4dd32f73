/**
 * `xds:///<listener>` targets: the channel asks an xDS control plane (Istio's istiod, through the grpc-agent) for the
 * Listener named by the target, then its RouteConfiguration, Clusters and their endpoints, and balances as they say
 * (the Cluster's lb_policy, weighted clusters, retries from the route). No proxy sits in the data path.
 *
 * @grpc/grpc-js-xds reads its bootstrap from the file named by GRPC_XDS_BOOTSTRAP, else from the JSON in
 * GRPC_XDS_BOOTSTRAP_CONFIG (grpc-js-xds 1.14.1, src/xds-bootstrap.ts loadBootstrapInfo). The bootstrap says where
 * the control plane is (`xds_servers[].server_uri`, `channel_creds`), who this client is (`node.id`, `node.locality`,
 * `node.metadata`) and, for mTLS, where certificates are (`certificate_providers`). Istio's grpc-agent injection
 * template sets GRPC_XDS_BOOTSTRAP=/etc/istio/proxy/grpc-bootstrap.json in every app container, and pilot-agent
 * writes that file pointing at its own xDS proxy, unix:///etc/istio/proxy/XDS, with insecure channel creds
 * (istio 1.30.3: manifests/charts/istio-control/istio-discovery/files/grpc-agent.yaml,
 * pkg/istio-agent/grpcxds/grpc_bootstrap.go, pkg/istio-agent/testdata/grpc-bootstrap.json).
 */
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { ConfigError } from './config';

export const XDS_SCHEME = 'xds';
/** Path of the bootstrap file: what Istio's grpc-agent sets. */
export const XDS_BOOTSTRAP_ENV = 'GRPC_XDS_BOOTSTRAP';
/** The bootstrap JSON itself, read only when XDS_BOOTSTRAP_ENV is unset or empty (as grpc-js-xds does). */
export const XDS_BOOTSTRAP_CONFIG_ENV = 'GRPC_XDS_BOOTSTRAP_CONFIG';

type GrpcJsXds = typeof import('@grpc/grpc-js-xds');
type XdsBootstrap = typeof import('@grpc/grpc-js-xds/build/src/xds-bootstrap');

export function isXdsTarget(target: string): boolean {
  return target.startsWith(`${XDS_SCHEME}:`);
}

/** Where the bootstrap comes from: the setting that names it, its value, and the JSON text. */
function bootstrapSource(env: NodeJS.ProcessEnv): { setting: string; value: string; json: string } {
  const file = env[XDS_BOOTSTRAP_ENV];
  if (file) {
    try {
      return { setting: XDS_BOOTSTRAP_ENV, value: file, json: readFileSync(file, 'utf8') };
    } catch (error) {
      throw new ConfigError(XDS_BOOTSTRAP_ENV, file, `a readable xDS bootstrap file (${(error as Error).message})`);
    }
  }
  const json = env[XDS_BOOTSTRAP_CONFIG_ENV];
  if (json) return { setting: XDS_BOOTSTRAP_CONFIG_ENV, value: json, json };
  throw new ConfigError(
    XDS_BOOTSTRAP_ENV,
    file ?? '',
    `the path of an xDS bootstrap file for an xds: target (Istio's grpc-agent sets it), or ${XDS_BOOTSTRAP_CONFIG_ENV} holding the bootstrap JSON`,
  );
}

/**
 * The bootstrap's outline is checked here so a missing part is named; grpc-js-xds's own validator checks the rest,
 * the same one its resolver runs later, so a bad bootstrap is a bad setting before any channel exists.
 */
function checkBootstrap(env: NodeJS.ProcessEnv, validate: (bootstrap: unknown) => void): void {
  const { setting, value, json } = bootstrapSource(env);
  const invalid = (reason: string) => new ConfigError(setting, value, `an xDS bootstrap: ${reason}`);
  let bootstrap: unknown;
  try {
    bootstrap = JSON.parse(json);
  } catch (error) {
    throw invalid(`not JSON (${(error as Error).message})`);
  }
  const outline = bootstrap as { xds_servers?: unknown; node?: unknown } | null;
  if (typeof outline !== 'object' || outline === null || Array.isArray(outline)) throw invalid('not a JSON object');
  if (!Array.isArray(outline.xds_servers) || outline.xds_servers.length === 0)
    throw invalid('xds_servers must list at least one server');
  if (typeof outline.node !== 'object' || outline.node === null)
    throw invalid('node must be an object with id and locality');
  try {
    validate(bootstrap);
  } catch (error) {
    throw invalid((error as Error).message);
  }
}

/**
 * Makes `xds:` targets dialable in this process and returns the channel credentials for one: TLS when the control
 * plane's Cluster asks for it (an UpstreamTlsContext, which Istio sends for ISTIO_MUTUAL, with the certificates of
 * the bootstrap's certificate_providers; gRFC A29), else `credentials`, the client's own.
 * @grpc/grpc-js-xds takes most of a second to load, so it is loaded here, only for an xds: target, and the client
 * starts as fast as before for every other target.
 */
export function enableXds(
  config: { target: string; maxAttempts: number },
  credentials: grpc.ChannelCredentials,
  env: NodeJS.ProcessEnv = process.env,
): grpc.ChannelCredentials {
  // The control plane's route carries the retry policy (gRFC A44); the channel's own service config is not used.
  if (config.maxAttempts > 1) {
    throw new ConfigError(
      'MAX_ATTEMPTS',
      String(config.maxAttempts),
      `1 with TARGET=${config.target}: an xds: target takes its retries from the control plane's route`,
    );
  }
  checkBootstrap(env, (bootstrap) =>
    (require('@grpc/grpc-js-xds/build/src/xds-bootstrap') as XdsBootstrap).validateBootstrapConfig(bootstrap),
  );
  const xds = require('@grpc/grpc-js-xds') as GrpcJsXds;
  xds.register();
  return new xds.XdsChannelCredentials(credentials);
}
