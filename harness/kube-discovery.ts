/**
 * A discovery-only Kubernetes API server, for the real kubectl: node:http on 127.0.0.1 that answers the discovery
 * documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) for the kinds it is given, and 404 NotFound to
 * every object GET, so `kubectl apply --dry-run=client` maps every object to its resource, finds none of them in the
 * cluster and reports each as created, without a cluster. Kubernetes kinds come from the Kubernetes OpenAPI
 * definitions in upstream/schemas and CRD kinds from the CRDs in upstream/crds, so a kind or an apiVersion the
 * cluster would not serve is not served here either.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './manifests';
import { ROOT } from './processes';

/** One resource as a discovery document lists it. */
export interface ApiResource {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The resource name: what kubectl prints (`deployment.apps/greeter`) and what an object's URL holds. */
  readonly plural: string;
  readonly namespaced: boolean;
}

const UPSTREAM = path.join(ROOT, 'upstream');
/** The Kubernetes version whose kinds are served: the newest definitions in upstream/schemas. */
const KUBERNETES_DEFINITIONS = path.join(UPSTREAM, 'schemas', 'k8s-v1.32.0-definitions.json');

/**
 * The cluster-scoped kinds of Kubernetes 1.32 (kubectl api-resources --namespaced=false); every other kind is
 * namespaced. The OpenAPI definitions give group, version and kind, but not the scope.
 */
const CLUSTER_SCOPED_KINDS = new Set([
  'APIService',
  'CSIDriver',
  'CSINode',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'ClusterTrustBundle',
  'ComponentStatus',
  'CustomResourceDefinition',
  'DeviceClass',
  'FlowSchema',
  'IPAddress',
  'IngressClass',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Node',
  'PersistentVolume',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'ResourceSlice',
  'RuntimeClass',
  'SelfSubjectAccessReview',
  'SelfSubjectReview',
  'SelfSubjectRulesReview',
  'ServiceCIDR',
  'StorageClass',
  'StorageVersion',
  'StorageVersionMigration',
  'SubjectAccessReview',
  'TokenReview',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
  'VolumeAttributesClass',
]);

/**
 * The resource name kube-apiserver gives a built-in kind: k8s.io/apimachinery pkg/api/meta/restmapper.go
 * `UnsafeGuessKindToResource` (lower case; "endpoints" stays; -s gets -es, -y becomes -ies, else -s), which every
 * kind Kubernetes serves follows. CRDs name theirs in `spec.names.plural`.
 */
function guessPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('endpoints')) return lower;
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

const key = (group: string, version: string, kind: string) => `${group}/${version}/${kind}`;

function kubernetesResources(): ApiResource[] {
  type Definition = { 'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }> };
  const { definitions } = JSON.parse(readFileSync(KUBERNETES_DEFINITIONS, 'utf8')) as {
    definitions: Record<string, Definition>;
  };
  // A kind listed under several group versions (DeleteOptions, WatchEvent) is an API message, not a resource.
  const gvks = Object.values(definitions).flatMap((d) =>
    d['x-kubernetes-group-version-kind']?.length === 1 ? d['x-kubernetes-group-version-kind'] : [],
  );
  return gvks
    .filter((gvk) => !gvk.kind.endsWith('List'))
    .map((gvk) => ({ ...gvk, plural: guessPlural(gvk.kind), namespaced: !CLUSTER_SCOPED_KINDS.has(gvk.kind) }));
}

function crdResources(): ApiResource[] {
  type Crd = {
    kind: string;
    spec: {
      group: string;
      scope: string;
      names: { kind: string; plural: string };
      versions: Array<{ name: string; served: boolean }>;
    };
  };
  const dir = path.join(UPSTREAM, 'crds');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((doc) => doc.toJS() as Crd | null),
    )
    .filter((doc): doc is Crd => doc?.kind === 'CustomResourceDefinition')
    .flatMap(({ spec }) =>
      spec.versions
        .filter((version) => version.served)
        .map((version) => ({
          group: spec.group,
          version: version.name,
          kind: spec.names.kind,
          plural: spec.names.plural,
          namespaced: spec.scope === 'Namespaced',
        })),
    );
}

let catalog: Map<string, ApiResource> | undefined;

/** The resource of an object's kind, as a Kubernetes 1.32 cluster with this project's CRDs serves it; undefined if none. */
export function apiResource(object: Pick<KubeObject, 'apiVersion' | 'kind'>): ApiResource | undefined {
  catalog ??= new Map([...kubernetesResources(), ...crdResources()].map((r) => [key(r.group, r.version, r.kind), r]));
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  return catalog.get(key(group, version, object.kind));
}

/** How `kubectl apply` names an object it applied: `<resource>[.<group>]/<name>`, as in `deployment.apps/greeter`. */
export function kubectlName(resource: ApiResource, name: string): string {
  // kubectl's name printer (k8s.io/cli-runtime pkg/printers/name.go) writes the kind in lower case, then the group.
  return `${resource.kind.toLowerCase()}${resource.group === '' ? '' : `.${resource.group}`}/${name}`;
}

export interface DiscoveryServer {
  readonly url: string;
  /** The object GETs kubectl made, as paths. */
  readonly objectRequests: readonly string[];
  close(): Promise<void>;
}

/** Starts the server on a free 127.0.0.1 port, serving the resources of exactly these objects' kinds that exist. */
export async function startDiscoveryServer(objects: readonly KubeObject[]): Promise<DiscoveryServer> {
  const served = new Map<string, ApiResource>();
  for (const object of objects) {
    const resource = apiResource(object);
    if (resource) served.set(key(resource.group, resource.version, resource.kind), resource);
  }
  const resources = [...served.values()];
  const groupVersions = (group: string) => [
    ...new Set(resources.filter((r) => r.group === group).map((r) => r.version)),
  ];
  const groups = [...new Set(resources.map((r) => r.group).filter((g) => g !== ''))].sort();
  const resourceList = (group: string, version: string) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: resources
      .filter((r) => r.group === group && r.version === version)
      .map((r) => ({
        name: r.plural,
        singularName: r.kind.toLowerCase(),
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      })),
  });
  const objectRequests: string[] = [];

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const send = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const notFound = (message: string) =>
      send(404, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason: 'NotFound',
        code: 404,
      });
    const parts = url.pathname.split('/').filter(Boolean);
    // kubectl asks for aggregated discovery first; this legacy form is what it falls back to.
    if (url.pathname === '/api')
      return send(200, { kind: 'APIVersions', versions: groupVersions(''), serverAddressByClientCIDRs: [] });
    if (url.pathname === '/apis') {
      return send(200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: groups.map((name) => {
          const versions = groupVersions(name).map((version) => ({ groupVersion: `${name}/${version}`, version }));
          return { name, versions, preferredVersion: versions[0] };
        }),
      });
    }
    if (parts[0] === 'api' && parts.length === 2 && groupVersions('').includes(parts[1]))
      return send(200, resourceList('', parts[1]));
    if (parts[0] === 'apis' && parts.length === 3 && groupVersions(parts[1]).includes(parts[2]))
      return send(200, resourceList(parts[1], parts[2]));
    if (request.method === 'GET' && (parts[0] === 'api' || parts[0] === 'apis')) objectRequests.push(url.pathname);
    return notFound(`${url.pathname} not found`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objectRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Writes a kubeconfig for kubectl to `file`: one cluster at `server`, no credentials (the server asks for none). */
export function writeDiscoveryKubeconfig(file: string, server: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'discovery', cluster: { server } }],
    users: [{ name: 'discovery', user: {} }],
    contexts: [{ name: 'discovery', context: { cluster: 'discovery', user: 'discovery', namespace: 'default' } }],
    'current-context': 'discovery',
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}
