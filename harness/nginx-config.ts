/**
 * The one nginx.conf template for the demo, the tests and the benchmark: nginx (Debian's 1.22; ingress-nginx is
 * nginx) as an L7 gRPC proxy (`grpc_pass`, plaintext or TLS for grpc.example.com, like the Istio ILB gateway) that
 * balances each call, and as an L4 proxy (`stream {}`, like a kube-proxy Service) that balances connections. The
 * traps found on the way are written into the rendered file, each with a comment saying why.
 */
import * as path from 'node:path';
import { GREETER_SERVICE } from '../app/proto';
import { ENVIRONMENTS } from '../deploy/environments';
import type { TestCertificates } from './certs';

/** Debian builds the stream module as a dynamic module (package libnginx-mod-stream). */
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
/**
 * The gateway's host name, the environments' own: the TLS listener's certificate names it, clients dial 127.0.0.1
 * and override. The nginx-ingress strategy's Ingress serves the same host (its test compares the two).
 */
export const GATEWAY_HOST = ENVIRONMENTS['docker-desktop'].host;

/** `grpc`: L7, each call balanced; `grpc-tls`: the same behind TLS for GATEWAY_HOST; `tcp`: L4, each connection. */
export type ProxyKind = 'grpc' | 'grpc-tls' | 'tcp';

/** A pod behind a listener: its port on 127.0.0.1, or its own loopback address and port. */
export type Backend = number | { host: string; port: number };

export interface ListenerSpec {
  kind: ProxyKind;
  /** The pods it balances over. */
  backends: readonly Backend[];
  /** The pods' MAX_CONNECTION_AGE_MS, if set: L7 upstream keepalive must retire connections before it. */
  backendMaxConnectionAgeMs?: number;
}

/** nginx's own defaults for upstream keepalive_time and keepalive_timeout. */
const NGINX_KEEPALIVE_DEFAULTS = { timeMs: 3_600_000, timeoutMs: 60_000 };
/** grpc-js jitters max connection age by ±10%: the first GOAWAY can come at 0.9 × the setting. */
const AGE_JITTER = 0.1;
const MIN_BACKEND_AGE_MS = 100;

/**
 * Upstream keepalive limits so that nginx never sends a call on a connection the pod is about to GOAWAY: such a
 * call fails with 502 and nginx cannot resend it. nginx checks keepalive_time only when a call ends, then may keep
 * the connection idle for keepalive_timeout, so its last call can start at an age of time + timeout. A third and
 * a sixth of the earliest GOAWAY leave half of it as margin for that call to reach a busy pod.
 */
export function upstreamKeepalive(backendMaxConnectionAgeMs?: number): { timeMs: number; timeoutMs: number } {
  if (backendMaxConnectionAgeMs === undefined) return NGINX_KEEPALIVE_DEFAULTS;
  if (!Number.isInteger(backendMaxConnectionAgeMs) || backendMaxConnectionAgeMs < MIN_BACKEND_AGE_MS) {
    throw new Error(
      `nginx listener: backendMaxConnectionAgeMs must be an integer >= ${MIN_BACKEND_AGE_MS}, got ${backendMaxConnectionAgeMs}`,
    );
  }
  const earliestGoaway = backendMaxConnectionAgeMs * (1 - AGE_JITTER);
  return { timeMs: Math.floor(earliestGoaway / 3), timeoutMs: Math.floor(earliestGoaway / 6) };
}

export interface RenderedListener extends ListenerSpec {
  name: string;
  port: number;
}

function upstreamServers(listener: RenderedListener, parameters = ''): string {
  const address = (backend: Backend) =>
    typeof backend === 'number' ? `127.0.0.1:${backend}` : `${backend.host}:${backend.port}`;
  return listener.backends.map((backend) => `    server ${address(backend)}${parameters};`).join('\n');
}

function grpcServer(listener: RenderedListener, certificates: TestCertificates | undefined): string {
  const keepalive = upstreamKeepalive(listener.backendMaxConnectionAgeMs);
  const tls = listener.kind === 'grpc-tls';
  if (tls && !certificates) throw new Error(`nginx listener '${listener.name}': grpc-tls needs certificates`);
  return `
  upstream ${listener.name} {
    # max_fails=0: membership is the Endpoints' job (readiness), as in ingress-nginx. nginx's default (1 failure
    # takes a pod out for 10 s) turns a few 502s from GOAWAY races into "no live upstreams" for every pod.
${upstreamServers(listener, ' max_fails=0')}
    # Cache idle connections to the pods: without it each call pays a TCP connect and an HTTP/2 handshake.
    keepalive 64;
    # Retire a connection well before the pod's max connection age (less its jitter): a call nginx sends as the
    # pod's GOAWAY crosses it is refused, nginx answers 502, and it cannot resend it (see below).
    keepalive_time ${keepalive.timeMs}ms;
    keepalive_timeout ${keepalive.timeoutMs}ms;
  }
  server {
    # nginx 1.22: HTTP/2 is switched on per listen line (\`http2 on;\` came in 1.25.1); without it gRPC fails.
    listen 127.0.0.1:${listener.port}${tls ? ' ssl' : ''} http2;${
      tls
        ? `
    server_name ${GATEWAY_HOST};
    ssl_certificate ${certificates!.certFile};
    ssl_certificate_key ${certificates!.keyFile};`
        : ''
    }
    # The greeter's own service only, as the Ingress and the gateways route: health and reflection stay behind.
    location /${GREETER_SERVICE}/ {
      grpc_pass grpc://${listener.name};
      # Resend a call to the next pod when the connection to one fails (a pod that stopped listening). nginx
      # streams gRPC request bodies unbuffered, so it can only resend a call it has not sent yet: non_idempotent
      # would change nothing, and a call a pod refuses with GOAWAY comes back as 502 whatever this says.
      grpc_next_upstream error timeout;
      grpc_next_upstream_tries ${listener.backends.length};
      grpc_next_upstream_timeout 5s;
      grpc_connect_timeout 2s;
    }
    # A proxy error as a trailers-only gRPC status (UNAVAILABLE) instead of an HTML page, so the client's retry
    # policy can resend it: grpc-js takes any other response headers as the pod's reply and never resends after
    # them. Resending is the client's call: right for SayHello, which has no side effects.
    error_page 502 503 = @grpc_unavailable;
    location @grpc_unavailable {
      default_type application/grpc;
      add_header grpc-status 14 always;
      add_header grpc-message "nginx: no pod answered" always;
      return 204;
    }
  }`;
}

function tcpServer(listener: RenderedListener): string {
  return `
  upstream ${listener.name} {
${upstreamServers(listener)}
  }
  server {
    listen 127.0.0.1:${listener.port};
    proxy_pass ${listener.name};
    proxy_connect_timeout 2s;
    # As kube-proxy: a connection goes to the one pod its DNAT rule picked, and fails if that pod refuses it
    # (nginx would try the next server by default).
    proxy_next_upstream off;
  }`;
}

/** The whole nginx.conf for one run: every path lives under `dir`. */
export function renderNginxConfig(
  dir: string,
  listeners: readonly RenderedListener[],
  certificates?: TestCertificates,
): string {
  const grpcListeners = listeners.filter((listener) => listener.kind !== 'tcp');
  const tcpListeners = listeners.filter((listener) => listener.kind === 'tcp');
  const file = (name: string) => path.join(dir, name);
  return `# Rendered from harness/nginx-config.ts for one run; nginx runs in the foreground as the caller's child.
${tcpListeners.length > 0 ? `load_module ${STREAM_MODULE};\n` : ''}# One worker: one round-robin position and one upstream connection cache, so the counts show the policy exactly.
worker_processes 1;
pid ${file('nginx.pid')};
error_log ${file('error.log')} warn;
events {
  worker_connections 4096;
}
${
  grpcListeners.length === 0
    ? ''
    : `http {
  access_log off;
  client_body_temp_path ${file('client_body')};
  proxy_temp_path ${file('proxy')};
  fastcgi_temp_path ${file('fastcgi')};
  uwsgi_temp_path ${file('uwsgi')};
  scgi_temp_path ${file('scgi')};
  # gRPC metadata keys may contain '_'; nginx drops such request headers unless told otherwise.
  underscores_in_headers on;
  # The default (1000) makes nginx close the client's connection every 1000 calls. grpc-js reconnects without
  # losing a call, but a channel is meant to keep its connection: each reconnect is a handshake (TLS at a gateway).
  keepalive_requests 100000000;
${grpcListeners.map((listener) => grpcServer(listener, certificates)).join('\n')}
}
`
}${
    tcpListeners.length === 0
      ? ''
      : `stream {
${tcpListeners.map(tcpServer).join('\n')}
}
`
  }`;
}
