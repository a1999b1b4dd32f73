/**
 * The names by which the greeter's server and client read their settings from the environment, and the API they
 * serve: the one source for app/ and for the constructs in lib/ that set them in a container. No dependencies, so
 * the construct library can carry it without the app's runtime packages.
 */

/** The gRPC service the greeter serves publicly (protos/helloworld.proto). */
export const GREETER_SERVICE = 'helloworld.Greeter';

/** The port the server listens on unless told otherwise. */
export const GREETER_DEFAULT_PORT = 50051;

/** Environment variables of the server (app/server.ts) that the constructs set. */
export const SERVER_ENV = {
  port: 'PORT',
  plaintextPort: 'PLAINTEXT_PORT',
  tlsCertFile: 'TLS_CERT_FILE',
  tlsKeyFile: 'TLS_KEY_FILE',
  podName: 'POD_NAME',
  shutdownGraceMs: 'SHUTDOWN_GRACE_MS',
  maxConnectionAgeMs: 'MAX_CONNECTION_AGE_MS',
  reflection: 'REFLECTION',
} as const;

/** Environment variables of the client (app/client.ts) that the constructs set. */
export const CLIENT_ENV = {
  target: 'TARGET',
  lbPolicy: 'LB_POLICY',
  serverName: 'SERVER_NAME',
  caFile: 'CA_FILE',
  intervalMs: 'INTERVAL_MS',
  summaryEvery: 'SUMMARY_EVERY',
  maxAttempts: 'MAX_ATTEMPTS',
  waitForReady: 'WAIT_FOR_READY',
  dnsMinTimeBetweenResolutionsMs: 'DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS',
} as const;
