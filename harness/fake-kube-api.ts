/**
 * A fake Kubernetes API server for EndpointSlices: a real node:http server on 127.0.0.1 that lists and watches them
 * the way kube-apiserver does. A list returns an `EndpointSliceList` with `metadata.resourceVersion`; `?watch=true`
 * (or 1) keeps a chunked response open and writes one JSON watch event per line: the history after the request's
 * resourceVersion, then every change as it happens (ADDED, MODIFIED, DELETED, as the label selector sees them), or
 * `ERROR` with a 410 Status when that resourceVersion is older than the compacted history. Every request is recorded,
 * and a test can push changes, end watches, compact the history and fail requests.
 */
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface EndpointSlice {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  addressType: string;
  endpoints: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind: string; name: string; namespace: string };
  }> | null;
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  /** What the API server's authorizer would call it: `list`, `watch`, or the method for anything else. */
  verb: string;
  at: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface HistoryEntry {
  resourceVersion: number;
  type: EventType;
  object: EndpointSlice;
  /** The object before the change, so a selector that stops (or starts) matching sees DELETED (or ADDED). */
  previous: EndpointSlice | undefined;
}

interface OpenWatch {
  namespace: string;
  matches: (labels: Record<string, string> | undefined) => boolean;
  response: http.ServerResponse;
}

export const FAKE_TOKEN = 'fake-token';
const ENDPOINT_SLICES = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/;

/** Equality-based label selectors (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated); set-based ones answer 400. */
function parseLabelSelector(selector: string): ((labels: Record<string, string> | undefined) => boolean) | undefined {
  const requirements: Array<(labels: Record<string, string>) => boolean> = [];
  for (const term of selector.split(',').filter((t) => t.trim() !== '')) {
    const match = /^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$/.exec(term);
    if (!match) return undefined;
    const [, not, key, operator, value] = match;
    if (operator === undefined) requirements.push((labels) => key in labels !== (not === '!'));
    else if (not === '!') return undefined;
    else if (operator === '!=') requirements.push((labels) => labels[key] !== value);
    else requirements.push((labels) => labels[key] === value);
  }
  return (labels) => requirements.every((requirement) => requirement(labels ?? {}));
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeKubeApi {
  /** Every request, in order of arrival. */
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, EndpointSlice>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<OpenWatch>();
  private revision = 1;
  private compactedRevision = 0;
  private failures: Array<{ code: number; reason: string; message: string }> = [];
  private readonly server: http.Server;
  private readonly requestListeners = new Set<() => void>();

  private constructor(readonly token: string) {
    this.server = http.createServer((request, response) => this.handle(request, response));
  }

  /** Starts listening on 127.0.0.1 (`port` 0: any free port); requests must carry `Authorization: Bearer <token>`. */
  static async start(options: { port?: number; token?: string } = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options.token ?? FAKE_TOKEN);
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', reject);
      api.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The resourceVersion of the latest change. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /**
   * Creates or replaces a slice and tells the watches that see it. With `notify: false` the change is stored and
   * enters the history without reaching the open watches, as if their connection had dropped it: only a list, or a
   * watch from an earlier resourceVersion, sees it.
   */
  apply(slice: EndpointSlice, options: { notify?: boolean } = {}): string {
    const key = `${slice.metadata.namespace}/${slice.metadata.name}`;
    const previous = this.objects.get(key);
    const object = this.stamp(slice);
    this.objects.set(key, object);
    this.record(
      { resourceVersion: this.revision, type: previous ? 'MODIFIED' : 'ADDED', object, previous },
      options.notify ?? true,
    );
    return this.resourceVersion;
  }

  delete(namespace: string, name: string): string {
    const key = `${namespace}/${name}`;
    const previous = this.objects.get(key);
    if (!previous) throw new Error(`FakeKubeApi: no EndpointSlice ${key} to delete`);
    this.objects.delete(key);
    const object = this.stamp(previous);
    this.record({ resourceVersion: this.revision, type: 'DELETED', object, previous }, true);
    return this.resourceVersion;
  }

  /** Forgets the history up to now: a watch from an older resourceVersion gets ERROR 410 Expired, as after etcd compaction. */
  compact(): void {
    this.compactedRevision = this.revision;
  }

  /** Ends every open watch cleanly, as kube-apiserver does when a watch's timeout is up. */
  closeWatches(): void {
    for (const watch of this.watches) watch.response.end();
    this.watches.clear();
  }

  /** Answers the next `count` requests with this HTTP error (a Status body), e.g. 403 before RBAC is in place. */
  failNext(count: number, code: number, reason: string, message: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ code, reason, message });
  }

  /** Resolves with the first request (already recorded or still to come) that matches, or rejects after timeoutMs. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.requests.find(predicate);
        if (!found) return false;
        clearTimeout(timer);
        this.requestListeners.delete(listener);
        resolve(found);
        return true;
      };
      const listener = () => void check();
      const timer = setTimeout(() => {
        this.requestListeners.delete(listener);
        reject(
          new Error(
            `FakeKubeApi: no matching request within ${timeoutMs} ms; got:\n${this.requests.map((r) => `${r.verb} ${r.path} ${JSON.stringify(r.query)}`).join('\n')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) this.requestListeners.add(listener);
    });
  }

  /** Ends every watch and connection and stops listening. */
  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private stamp(slice: EndpointSlice): EndpointSlice {
    this.revision++;
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      ...structuredClone(slice),
      metadata: { ...structuredClone(slice.metadata), resourceVersion: String(this.revision) },
    };
  }

  private record(entry: HistoryEntry, notify: boolean): void {
    this.history.push(entry);
    if (!notify) return;
    for (const watch of this.watches) this.send(watch, entry);
  }

  /** Writes the event as this watch sees it: a change that moves an object into or out of its selector is ADDED or DELETED. */
  private send(watch: OpenWatch, entry: HistoryEntry): void {
    if (entry.object.metadata.namespace !== watch.namespace) return;
    const now = entry.type !== 'DELETED' && watch.matches(entry.object.metadata.labels);
    const before = entry.previous !== undefined && watch.matches(entry.previous.metadata.labels);
    if (!now && !before) return;
    const type: EventType = entry.type === 'DELETED' || !now ? 'DELETED' : before ? 'MODIFIED' : 'ADDED';
    watch.response.write(JSON.stringify({ type, object: entry.object }) + '\n');
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const watching = query.watch === 'true' || query.watch === '1';
    const verb = request.method === 'GET' ? (watching ? 'watch' : 'list') : (request.method ?? 'GET').toLowerCase();
    this.requests.push({
      method: request.method ?? '',
      path: url.pathname,
      query,
      authorization: request.headers.authorization,
      verb,
      at: Date.now(),
    });
    for (const listener of [...this.requestListeners]) listener();

    const reply = (code: number, body: object) => {
      response.writeHead(code, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const failure = this.failures.shift();
    if (failure) return reply(failure.code, status(failure.code, failure.reason, failure.message));
    if (request.headers.authorization !== `Bearer ${this.token}`)
      return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    const route = ENDPOINT_SLICES.exec(url.pathname);
    if (!route || request.method !== 'GET')
      return reply(
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${request.method} ${url.pathname})`),
      );
    const namespace = decodeURIComponent(route[1]);
    const matches = parseLabelSelector(query.labelSelector ?? '');
    if (!matches) return reply(400, status(400, 'BadRequest', `unable to parse requirement: ${query.labelSelector}`));

    const visible = [...this.objects.values()].filter(
      (slice) => slice.metadata.namespace === namespace && matches(slice.metadata.labels),
    );
    if (!watching) {
      return reply(200, {
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: this.resourceVersion },
        items: visible,
      });
    }

    response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    response.flushHeaders();
    const from = query.resourceVersion;
    if (from !== undefined && from !== '' && from !== '0' && Number(from) < this.compactedRevision) {
      // kube-apiserver answers 200 and then this event, and ends the watch.
      response.end(
        JSON.stringify({
          type: 'ERROR',
          object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRevision})`),
        }) + '\n',
      );
      return;
    }
    const watch: OpenWatch = { namespace, matches, response };
    if (from === undefined || from === '' || from === '0') {
      // No resourceVersion: the current state as ADDED events, then the changes.
      for (const object of visible) response.write(JSON.stringify({ type: 'ADDED', object }) + '\n');
    } else {
      for (const entry of this.history.filter((e) => e.resourceVersion > Number(from))) this.send(watch, entry);
    }
    this.watches.add(watch);
    const timeoutSeconds = Number(query.timeoutSeconds);
    const timer =
      timeoutSeconds > 0
        ? setTimeout(() => (this.watches.delete(watch), response.end()), timeoutSeconds * 1000)
        : undefined;
    response.once('close', () => {
      clearTimeout(timer);
      this.watches.delete(watch);
    });
  }
}

/**
 * Writes `dir/kubeconfig` (JSON is YAML) for a server on 127.0.0.1:port, which need not be listening yet, and returns
 * its path. One cluster, user (a bearer token) and context; plain HTTP needs `insecure-skip-tls-verify` in client-node.
 */
export function writeKubeconfig(dir: string, port: number, token = FAKE_TOKEN): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(file, JSON.stringify(kubeconfig(`http://127.0.0.1:${port}`, token), null, 2));
  return file;
}

function kubeconfig(server: string, token: string) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
    'current-context': 'fake',
  };
}
