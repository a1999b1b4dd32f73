/**
 * A grpc-js name resolver for `kubernetes:///` targets: it lists and then watches the EndpointSlices of a Service
 * through the Kubernetes API and gives the channel the address of every ready pod, so `round_robin` balances over
 * exactly the pods that serve right now, with no headless Service and no DNS cache in the way. A pod that turns
 * not-ready (as a terminating pod does at once) leaves the pool while it still finishes its calls.
 *
 * The target form is grpc-go kuberesolver's, with an explicit port:
 *
 *   kubernetes:///<service>[.<namespace>[.svc[.<cluster domain>]]]:<port>
 *
 *   kubernetes:///greeter.testing:grpc                       Service greeter in namespace testing, the port named grpc
 *   kubernetes:///greeter:50051                              the pod's own namespace, port 50051 on every pod
 *   kubernetes:///greeter.testing.svc.cluster.local:grpc     a fully qualified Service name works too
 *
 * - namespace: omitted, it is the pod's own (the ServiceAccount's namespace file), else `default`;
 * - port: a name is looked up in each EndpointSlice's ports (the Service port's name, resolved to the pod's port);
 *   a number is dialed as is on every ready pod, as kuberesolver does;
 * - authority: `<service>.<namespace>`, what a certificate for the Service names (kuberesolver's ServerName).
 *
 * The API server and credentials come from KubeConfig.loadFromDefault(): `KUBECONFIG`, `~/.kube/config`, or in a pod
 * its ServiceAccount. The ServiceAccount needs list and watch on `endpointslices` (discovery.k8s.io) in the target's
 * namespace and nothing more: the construct `EndpointSliceReader` of grpc-k8s-lb renders that Role.
 *
 * `GRPC_TRACE=kubernetes_resolver GRPC_VERBOSITY=DEBUG` traces every list, watch, event and address update. API
 * errors are logged at ERROR (grpc-js's default verbosity) and retried with backoff; until a first list succeeds they
 * fail calls with UNAVAILABLE, after it the channel keeps balancing over the pods it last saw.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';

export const KUBERNETES_SCHEME = 'kubernetes';
export const TARGET_FORM = 'kubernetes:///<service>[.<namespace>[.svc[.<cluster domain>]]]:<port name or number>';
const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const TRACER = 'kubernetes_resolver';
/** The API server ends each watch after this long (kube-apiserver picks 5 to 10 minutes itself); we watch again. */
const WATCH_TIMEOUT_SECONDS = 300;
/** A watch still open this long after its timeout is presumed dead (a half-open connection): list again. */
const WATCH_GRACE_MS = 30_000;
/** A list that takes longer is abandoned and retried, so a stalled API server cannot freeze the pool. */
const LIST_TIMEOUT_MS = 30_000;
/** A watch that ends sooner than this without an event, or a relist this soon after the last, waits out the backoff. */
const MIN_STREAM_MS = 1000;
const BACKOFF = { initialDelay: 500, maxDelay: 30_000, multiplier: 1.6, jitter: 0.2 };

export interface KubernetesTarget {
  service: string;
  namespace: string;
  /** A port name to look up in the EndpointSlices, or a port number to dial on every pod. */
  port: string | number;
}

/** A `kubernetes:` target that cannot be resolved; the message names the target and what is wrong with it. */
export class KubernetesTargetError extends Error {
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`invalid kubernetes target ${JSON.stringify(target)}: ${reason}; expected ${TARGET_FORM}`);
    this.name = 'KubernetesTargetError';
  }
}

/** The namespace of the pod this process runs in, or `default` outside a pod (as kuberesolver does). */
export function readPodNamespace(file = SERVICE_ACCOUNT_NAMESPACE_FILE): string {
  try {
    return readFileSync(file, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

// Kubernetes' grammars, kept here rather than imported from grpc-k8s-lb-common (which has them with full messages):
// this package ships alone, with the Kubernetes client as its only dependency. Only what a target needs: a name that
// cannot be a Service, namespace or port name is a typo, caught before any request.
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes port names are IANA service names: at most 15 of [a-z0-9-], a letter somewhere, no "--", no "-" at the ends. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The Service, namespace and port a `kubernetes:` target names; throws a KubernetesTargetError (naming the target, what
 * is wrong and the expected form) for anything else. grpc-js calls it as the channel is made, so a bad target throws
 * from the client's constructor; call it yourself to check a configured target earlier.
 */
export function parseKubernetesTarget(target: string, podNamespace: () => string = readPodNamespace): KubernetesTarget {
  const invalid = (reason: string) => new KubernetesTargetError(target, reason);
  const uri = /^kubernetes:\/\/([^/]*)\/(.*)$/.exec(target);
  if (!uri) throw invalid('it must start with kubernetes:/// (three slashes)');
  const [, authority, endpoint] = uri;
  if (authority !== '')
    throw invalid(
      `the authority ${JSON.stringify(authority)} is not supported (the API server comes from the kubeconfig): leave it empty`,
    );
  const colon = endpoint.lastIndexOf(':');
  if (colon < 0) throw invalid('the port is missing');
  const [service, namespace, ...domain] = endpoint.slice(0, colon).split('.');
  const portText = endpoint.slice(colon + 1);
  if (service.length > 63 || !DNS1035_LABEL.test(service)) {
    throw invalid(
      `service ${JSON.stringify(service)} is not a Service name (a DNS-1035 label: lower-case letters, digits and "-", starting with a letter)`,
    );
  }
  if (namespace !== undefined && (namespace.length > 63 || !DNS1123_LABEL.test(namespace))) {
    throw invalid(`namespace ${JSON.stringify(namespace)} is not a namespace name (a DNS-1123 label)`);
  }
  if (domain.length > 0 && domain[0] !== 'svc') {
    throw invalid(
      `only .svc[.<cluster domain>] may follow the namespace, got ${JSON.stringify('.' + domain.join('.'))}`,
    );
  }
  let port: string | number;
  if (/^\d+$/.test(portText)) {
    port = Number(portText);
    if (port < 1 || port > 65535) throw invalid(`port ${portText} is not from 1 to 65535`);
  } else if (portText.length <= 15 && PORT_NAME.test(portText)) {
    port = portText;
  } else {
    throw invalid(
      `port ${JSON.stringify(portText)} is neither a number nor a port name (at most 15 lower-case letters, digits and "-")`,
    );
  }
  return { service, namespace: namespace ?? podNamespace(), port };
}

/** What the resolver reads of a discovery.k8s.io/v1 EndpointSlice, as the JSON has it (`endpoints` may be null). */
export interface EndpointSlice {
  metadata?: { name?: string; resourceVersion?: string };
  endpoints?: Array<{ addresses?: string[]; conditions?: { ready?: boolean } }> | null;
  ports?: Array<{ name?: string; port?: number }> | null;
}

export interface TcpAddress {
  host: string;
  port: number;
}

/**
 * The addresses to dial: the first address of every endpoint whose `ready` condition is not false (unset means
 * ready), with the target's port, across all slices of the Service; each once, sorted so equal sets compare equal.
 */
export function readyAddresses(slices: Iterable<EndpointSlice>, port: string | number): TcpAddress[] {
  const addresses = new Map<string, TcpAddress>();
  for (const slice of slices) {
    const portNumber =
      typeof port === 'number' ? port : slice.ports?.find((candidate) => candidate.name === port)?.port;
    if (portNumber === undefined) continue;
    // `endpoints` is null, not [], in the JSON of a slice without endpoints (kube-apiserver's Go nil slice).
    for (const endpoint of slice.endpoints ?? []) {
      // Only the first address has a meaning (the EndpointSlice API says so; kube-proxy reads only that one).
      const host = endpoint.addresses?.[0];
      if (endpoint.conditions?.ready === false || !host) continue;
      const address = { host, port: portNumber };
      addresses.set(grpc.experimental.subchannelAddressToString(address), address);
    }
  }
  return [...addresses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, address]) => address);
}

type KubernetesClient = typeof import('@kubernetes/client-node');
let kubernetesClient: KubernetesClient | undefined;

/**
 * @kubernetes/client-node is large (its generated API takes about a second to load) and ESM-only, which Node 20's
 * require(esm) loads: only a process that resolves a kubernetes: target pays for it, and importing this module
 * (the client does for every target) stays cheap.
 */
function loadKubernetesClient(): KubernetesClient {
  try {
    return (kubernetesClient ??= require('@kubernetes/client-node') as KubernetesClient);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw error;
    throw new Error(
      `kubernetes: targets need a Node.js that can require() an ES module (20.19+ or 22.12+) for @kubernetes/client-node; this is ${process.version}`,
    );
  }
}

interface Stream {
  readonly controller: AbortController;
  cleanup?: () => void;
}

/** What an API error says: the Status message of an HTTP error, else the error's own message. */
function describeError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { code, statusCode, body, message } = error as {
    code?: unknown;
    statusCode?: unknown;
    body?: unknown;
    message?: unknown;
  };
  const status = typeof code === 'number' ? code : typeof statusCode === 'number' ? statusCode : undefined;
  // node-fetch repeats the URL ("request to <url> failed, reason: connect ECONNREFUSED …"): keep the reason.
  if (status === undefined) return String(message ?? error).replace(/^request to \S+ failed, reason: /, '');
  let detail = typeof message === 'string' ? message : '';
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      detail = body;
    }
  }
  return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
}

/**
 * Lists the EndpointSlices of one Service, then watches them from the list's resourceVersion, and keeps the merged
 * set current: a watch that ends is resumed from the last resourceVersion seen, an expired one (410) is replaced by
 * a new list, and an error is reported and retried after a bounded exponential backoff. stop() ends every request
 * and timer.
 */
class EndpointSliceWatch {
  private slices = new Map<string, EndpointSlice>();
  private resourceVersion: string | undefined;
  private kubeConfig: KubeConfig | undefined;
  private stream: Stream | undefined;
  private lastListAt = 0;
  private running = false;
  private afterBackoff: () => void = () => this.list();
  private readonly backoff: grpc.experimental.BackoffTimeout;
  private readonly labelSelector: string;
  private readonly path: string;

  constructor(
    private readonly name: string,
    private readonly target: KubernetesTarget,
    private readonly onSlices: (slices: Iterable<EndpointSlice>, count: number) => void,
    private readonly onError: (message: string) => void,
    backoff: typeof BACKOFF,
  ) {
    this.labelSelector = `kubernetes.io/service-name=${target.service}`;
    this.path = `/apis/discovery.k8s.io/v1/namespaces/${target.namespace}/endpointslices`;
    this.backoff = new grpc.experimental.BackoffTimeout(() => this.afterBackoff(), backoff);
    // Like grpc-js's own resolvers: a pending retry does not keep the process alive.
    this.backoff.unref();
  }

  start(): void {
    this.running = true;
    this.list();
  }

  stop(): void {
    this.running = false;
    this.endStream();
    this.backoff.stop();
    this.backoff.reset();
  }

  private trace(text: string): void {
    grpc.experimental.trace(grpc.logVerbosity.DEBUG, TRACER, `${this.name}: ${text}`);
  }

  /** Ends the current list or watch (its late callbacks are ignored) and starts tracking a new one. */
  private beginStream(): Stream {
    this.endStream();
    this.stream = { controller: new AbortController() };
    return this.stream;
  }

  private endStream(): void {
    // Detach before aborting: the abort can end the stream synchronously, and its callbacks must see it as stale
    // (else the aborted watch is reported as a failure and retried).
    const stream = this.stream;
    this.stream = undefined;
    stream?.controller.abort();
    stream?.cleanup?.();
  }

  private isCurrent(stream: Stream): boolean {
    return this.running && this.stream === stream;
  }

  /** Reports the error to the channel and lists again after the backoff (a watch may have missed changes meanwhile). */
  private retry(what: string, error: unknown): void {
    this.endStream();
    const server = this.kubeConfig?.getCurrentCluster()?.server ?? 'the API server';
    const message = `${what} ${this.path}?labelSelector=${this.labelSelector} at ${server} failed: ${describeError(error)}`;
    grpc.experimental.log(grpc.logVerbosity.ERROR, `${TRACER} ${this.name}: ${message}; retrying with backoff`);
    this.onError(message);
    this.afterBackoff = () => this.list();
    this.backoff.runOnce();
  }

  /** A new list, at once unless the last one was a moment ago (a watch that expires at once must not loop hot). */
  private relist(reason: string): void {
    this.trace(`${reason}: listing again`);
    if (Date.now() - this.lastListAt >= MIN_STREAM_MS) return this.list();
    this.endStream();
    this.afterBackoff = () => this.list();
    this.backoff.runOnce();
  }

  private list(): void {
    const stream = this.beginStream();
    this.lastListAt = Date.now();
    const timeout = setTimeout(() => stream.controller.abort(), LIST_TIMEOUT_MS);
    timeout.unref();
    stream.cleanup = () => clearTimeout(timeout);
    const { signal } = stream.controller;
    // In a promise, so that even a kubeconfig that fails to load is reported asynchronously, as grpc-js requires.
    Promise.resolve()
      .then(() => {
        const k8s = loadKubernetesClient();
        const kubeConfig = new k8s.KubeConfig();
        kubeConfig.loadFromDefault();
        this.kubeConfig = kubeConfig;
        this.trace(`list ${this.path}?labelSelector=${this.labelSelector}`);
        return kubeConfig.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice(
          { namespace: this.target.namespace, labelSelector: this.labelSelector },
          {
            // The generated client takes an AbortSignal only through a middleware.
            middleware: [
              {
                pre: (context) => {
                  context.setSignal(signal);
                  return new k8s.Observable(Promise.resolve(context));
                },
                post: (response) => new k8s.Observable(Promise.resolve(response)),
              },
            ],
            middlewareMergeStrategy: 'append',
          },
        );
      })
      .then(
        (result) => {
          if (!this.isCurrent(stream)) return;
          this.backoff.reset();
          this.slices = new Map(result.items.map((slice) => [slice.metadata?.name ?? '', slice]));
          this.resourceVersion = result.metadata?.resourceVersion;
          this.trace(`listed ${result.items.length} EndpointSlices at resourceVersion ${this.resourceVersion}`);
          this.onSlices(this.slices.values(), this.slices.size);
          this.watch();
        },
        (error: unknown) => {
          if (!this.isCurrent(stream)) return;
          this.retry('list', signal.aborted ? new Error(`no answer within ${LIST_TIMEOUT_MS} ms`) : error);
        },
      );
  }

  private watch(): void {
    const stream = this.beginStream();
    const startedAt = Date.now();
    let events = 0;
    const watchdog = setTimeout(
      () => {
        if (this.isCurrent(stream))
          this.relist(`watch still open ${WATCH_GRACE_MS} ms after its timeout, presumed dead`);
      },
      WATCH_TIMEOUT_SECONDS * 1000 + WATCH_GRACE_MS,
    );
    watchdog.unref();
    stream.cleanup = () => clearTimeout(watchdog);

    const ended = (error: unknown) => {
      if (!this.isCurrent(stream)) return;
      const status = (error as { statusCode?: number } | null)?.statusCode;
      if (status === 410) return this.relist('watch answered 410 Gone');
      if (error) return this.retry('watch', error);
      // The API server ends every watch after its timeout: resume from the last resourceVersion seen.
      this.trace(
        `watch ended after ${Date.now() - startedAt} ms and ${events} events: watching again from resourceVersion ${this.resourceVersion}`,
      );
      if (events > 0 || Date.now() - startedAt >= MIN_STREAM_MS) return this.watch();
      this.endStream();
      this.afterBackoff = () => this.watch();
      this.backoff.runOnce();
    };

    const event = (type: string, object: unknown) => {
      if (!this.isCurrent(stream)) return;
      events++;
      if (type === 'ERROR') {
        // A Status: 410 Expired when the resourceVersion is older than the API server's history.
        const status = object as { code?: number; reason?: string; message?: string };
        if (status.code === 410) return this.relist(`watch event ERROR 410 ${status.reason ?? ''}`.trimEnd());
        return this.retry('watch', { code: status.code ?? 500, body: JSON.stringify(status) });
      }
      const slice = object as EndpointSlice;
      const name = slice.metadata?.name ?? '';
      this.resourceVersion = slice.metadata?.resourceVersion ?? this.resourceVersion;
      this.trace(`${type} ${name} at resourceVersion ${this.resourceVersion}`);
      if (type === 'ADDED' || type === 'MODIFIED') this.slices.set(name, slice);
      else if (type === 'DELETED') this.slices.delete(name);
      else return; // BOOKMARK: only the resourceVersion moves on.
      this.onSlices(this.slices.values(), this.slices.size);
    };

    const kubeConfig = this.kubeConfig!;
    this.trace(`watch ${this.path}?labelSelector=${this.labelSelector} from resourceVersion ${this.resourceVersion}`);
    new (loadKubernetesClient().Watch)(kubeConfig)
      .watch(
        this.path,
        {
          labelSelector: this.labelSelector,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: WATCH_TIMEOUT_SECONDS,
        },
        (type: string, object: unknown) => {
          // Watch swallows what a callback throws: turn it into a failed watch rather than a silent stale pool.
          try {
            event(type, object);
          } catch (error) {
            if (this.isCurrent(stream)) this.retry('watch', error);
          }
        },
        ended,
      )
      .then((controller) => {
        // The controller arrives with the response headers: a stream given up before that is aborted now.
        if (this.isCurrent(stream)) stream.controller.signal.addEventListener('abort', () => controller.abort());
        else controller.abort();
      }, ended);
  }
}

/** The grpc-js resolver for `kubernetes:` targets; register it with registerKubernetesResolver(). */
class KubernetesResolver implements grpc.experimental.Resolver {
  static getDefaultAuthority(uri: grpc.experimental.GrpcUri): string {
    const target = parseKubernetesTarget(grpc.experimental.uriToString(uri));
    return `${target.service}.${target.namespace}`;
  }

  private readonly name: string;
  private readonly target: KubernetesTarget;
  private readonly watch: EndpointSliceWatch;
  private running = false;
  /** The addresses last given to the channel, so an event that changes no address is not passed on. */
  private lastPushed: string | undefined;

  constructor(
    uri: grpc.experimental.GrpcUri,
    private readonly listener: grpc.experimental.ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    this.name = grpc.experimental.uriToString(uri);
    this.target = parseKubernetesTarget(this.name);
    // Loaded now, with the channel, rather than on the first call, so that call does not wait a second for it.
    loadKubernetesClient();
    const backoff = {
      ...BACKOFF,
      // Honoured as grpc-js's DNS resolver honours them.
      initialDelay: options['grpc.initial_reconnect_backoff_ms'] ?? BACKOFF.initialDelay,
      maxDelay: options['grpc.max_reconnect_backoff_ms'] ?? BACKOFF.maxDelay,
    };
    this.watch = new EndpointSliceWatch(
      this.name,
      this.target,
      (slices, count) => this.push(slices, count),
      (message) => this.fail(message),
      backoff,
    );
  }

  updateResolution(): void {
    // The watch keeps the addresses current, so a request for a new resolution only (re)starts it.
    if (this.running) return;
    this.running = true;
    this.lastPushed = undefined;
    this.watch.start();
  }

  destroy(): void {
    this.running = false;
    this.watch.stop();
  }

  private push(slices: Iterable<EndpointSlice>, sliceCount: number): void {
    const addresses = readyAddresses(slices, this.target.port);
    const key = addresses.map((address) => grpc.experimental.subchannelAddressToString(address)).join(',');
    if (key === this.lastPushed) {
      grpc.experimental.trace(grpc.logVerbosity.DEBUG, TRACER, `${this.name}: addresses unchanged`);
      return;
    }
    this.lastPushed = key;
    const { service, namespace, port } = this.target;
    const note = `${addresses.length} ready endpoints with port ${port} in ${sliceCount} EndpointSlices of Service ${service} in namespace ${namespace}`;
    grpc.experimental.trace(grpc.logVerbosity.DEBUG, TRACER, `${this.name}: update: ${note}: [${key}]`);
    this.listener(
      grpc.experimental.statusOrFromValue(addresses.map((address) => ({ addresses: [address] }))),
      {},
      null,
      note,
    );
    // No ready pod: the empty list above drops the old pool, but grpc-js's round_robin then queues every call (it
    // ends IDLE with a QueuePicker when it has no child: @grpc/grpc-js 1.14.7 src/load-balancer-round-robin.ts
    // updateAddressList and calculateAndUpdateState), so calls would wait out their deadline with no word of why.
    // An error after it, with no child left, fails them at once with what the resolver found (updateAddressList,
    // `!maybeEndpointList.ok`); the next pod to turn ready is passed on as usual.
    if (addresses.length === 0) this.report(note);
  }

  private fail(message: string): void {
    // After an error the next good result is passed on even if the addresses did not change.
    this.lastPushed = undefined;
    this.report(message);
  }

  private report(message: string): void {
    this.listener(
      grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: `${this.name}: ${message}` }),
      {},
      null,
      '',
    );
  }
}

/** Makes `kubernetes:` targets resolvable by every grpc-js channel of this process; calling it again is harmless. */
export function registerKubernetesResolver(): void {
  grpc.experimental.registerResolver(KUBERNETES_SCHEME, KubernetesResolver);
}
