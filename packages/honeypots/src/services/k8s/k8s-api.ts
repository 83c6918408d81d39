/**
 * The pure core of the Kubernetes API server honeypot: request attributes as
 * kube-apiserver's RequestInfoFactory derives them from the URL, the
 * authentication outcome (anonymous, bad bearer token, unknown client
 * certificate), the RBAC decision of a stock cluster for system:anonymous, and
 * the replies (Status objects, /version, health checks, legacy discovery) as
 * the apiserver's Go serializers write them. No I/O.
 */
import { createHash } from 'node:crypto';

export const K8S_LIMITS = {
  maxPathParts: 64,
  maxFieldSelector: 1024,
  maxFieldTerms: 16,
};

/** Facts of a release: the commit it was built from, the build date and the Go toolchain (from the release binaries). */
interface ReleaseFacts {
  gitCommit: string;
  buildDate: string;
  goVersion: string;
}

const RELEASES: Record<string, ReleaseFacts> = {
  'v1.28.6': { gitCommit: 'be3af46a4654bdf05b4838fe94e95ec8c165660c', buildDate: '2024-01-17T13:39:00Z', goVersion: 'go1.20.13' },
  'v1.27.3': { gitCommit: '25b4e43193bcda6c7328a6d147b1fb73a33f1598', buildDate: '2023-06-14T09:47:40Z', goVersion: 'go1.20.5' },
  'v1.27.1': { gitCommit: '4c9411232e10168d7b050c49a1b59f6df9d7ea4b', buildDate: '2023-04-14T13:14:41Z', goVersion: 'go1.20.3' },
  'v1.27.16': { gitCommit: 'cbb86e0d7f4a049666fac0551e8b02ef3d6c3d9a', buildDate: '2024-07-17T01:53:56Z', goVersion: 'go1.22.5' },
};

/** The Go minor release each Kubernetes minor was built with (for versions not in RELEASES). */
const GO_BY_MINOR: Record<number, string> = { 24: 'go1.18.10', 25: 'go1.19.13', 26: 'go1.20.10', 27: 'go1.20.10', 28: 'go1.20.13', 29: 'go1.21.7', 30: 'go1.22.5', 31: 'go1.22.8', 32: 'go1.23.6', 33: 'go1.24.2' };

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export const DEFAULT_K8S_VERSION = 'v1.28.6';

/** The /version document of `version` (vMAJOR.MINOR.PATCH; anything else falls back to the default release). */
export function versionInfo(version: string): { info: VersionInfo; error?: string } {
  const m = /^v(\d{1,2})\.(\d{1,3})\.(\d{1,3})$/.exec(version.trim());
  if (!m) return { info: versionInfo(DEFAULT_K8S_VERSION).info, error: `k8s_version ${JSON.stringify(version)} is not vMAJOR.MINOR.PATCH; using ${DEFAULT_K8S_VERSION}` };
  const v = `v${m[1]}.${m[2]}.${m[3]}`;
  const known = RELEASES[v];
  const minor = Number(m[2]);
  const facts: ReleaseFacts = known ?? {
    // an unlisted release: a stable commit-shaped id and a date in the release's era
    gitCommit: createHash('sha1').update(`kubernetes ${v}`).digest('hex'),
    buildDate: `${2016 + Math.floor((minor + 2) / 3)}-${String(((minor * 4) % 12) + 1).padStart(2, '0')}-1${Number(m[3]) % 10}T1${Number(m[3]) % 10}:2${minor % 10}:0${minor % 10}Z`,
    goVersion: GO_BY_MINOR[minor] ?? 'go1.20.13',
  };
  return {
    info: { major: m[1]!, minor: m[2]!, gitVersion: v, gitCommit: facts.gitCommit, gitTreeState: 'clean', buildDate: facts.buildDate, goVersion: facts.goVersion, compiler: 'gc', platform: 'linux/amd64' },
  };
}

// ---------------------------------------------------------------- Go encodings

/** encoding/json string encoding: HTML-safe (<, >, & as \u00XX) and U+2028/2029 escaped, as Go writes them. */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Go's encoding/json of a plain value (objects keep insertion order, like Go's struct field order). */
export function goJson(v: unknown, indent = '', step = ''): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const nl = step ? `\n${indent}${step}` : '';
  const end = step ? `\n${indent}` : '';
  const sep = step ? ': ' : ':';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${v.map((x) => `${nl}${goJson(x, indent + step, step)}`).join(',')}${end}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  return `{${entries.map(([k, x]) => `${nl}${goJsonString(k)}${sep}${goJson(x, indent + step, step)}`).join(',')}${end}}`;
}

/** strconv.Quote, as fmt's %q writes a string (printable Unicode kept). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0xfffd) out += '\\ufffd';
    else if (c > 0x7f && /[\p{C}\p{Z}]/u.test(ch)) out += c > 0xffff ? `\\U${c.toString(16).padStart(8, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's URL path unescaping (undefined for a bad %-escape, which Go's server answers with 400). */
export function unescapePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 0x25) {
      const h = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(raw[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// ---------------------------------------------------------------- request info

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  parts: string[];
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

function goParseBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** The metadata.name a field selector pins (`metadata.name=x` or `==`), as the apiserver takes it for the request's name. */
function fieldSelectorName(sel: string): string | undefined {
  if (sel.length > K8S_LIMITS.maxFieldSelector) return undefined;
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < sel.length; i++) {
    const c = sel[i]!;
    if (c === '\\' && i + 1 < sel.length) {
      cur += c + sel[++i]!;
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
      if (terms.length >= K8S_LIMITS.maxFieldTerms) return undefined;
    } else cur += c;
  }
  terms.push(cur);
  for (const t of terms) {
    if (t.includes('!=')) continue;
    const m = /^([^=]*)==?(.*)$/.exec(t);
    if (m && m[1]!.trim() === 'metadata.name') {
      const v = m[2]!.trim().replace(/\\(.)/g, '$1');
      if (v !== '' && v !== '.' && v !== '..' && !v.includes('/') && !v.includes('%')) return v;
    }
  }
  return undefined;
}

/** kube-apiserver's RequestInfoFactory.NewRequestInfo for a decoded path and query. */
export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase(), apiPrefix: '', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  let parts = trimmed === '' ? [] : trimmed.split('/', K8S_LIMITS.maxPathParts);
  if (parts.length < 3) return info;
  if (parts[0] !== 'api' && parts[0] !== 'apis') return info;
  const prefix = parts[0]!;
  parts = parts.slice(1);
  if (prefix === 'apis') {
    if (parts.length < 3) return info;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.apiPrefix = prefix;
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return info;
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    const byMethod: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    info.verb = byMethod[method] ?? '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  info.parts = parts;
  if (parts.length >= 3 && info.verb !== 'proxy') info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  if (info.name === '' && info.verb === 'get') {
    const w = query.get('watch');
    let watch = false;
    if (w !== null) {
      const b = goParseBool(w);
      watch = b ?? !['false', '0'].includes(w.toLowerCase());
    }
    info.verb = watch ? 'watch' : 'list';
    const sel = query.get('fieldSelector');
    if (sel !== null) info.name = fieldSelectorName(sel) ?? '';
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** Requests the apiserver treats as long-running (they skip API Priority and Fairness and get no APF headers). */
export function isLongRunning(ri: RequestInfo): boolean {
  if (!ri.isResourceRequest) return false;
  return ri.verb === 'proxy' || LONG_RUNNING_SUBRESOURCES.has(ri.subresource);
}

// ---------------------------------------------------------------- statuses

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

/** A metav1.Status failure object in the apiserver's field order. */
export function statusObject(message: string, reason: string, code: number, details?: StatusDetails): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details: { name: details.name || undefined, group: details.group || undefined, kind: details.kind || undefined } } : {}),
    code,
  };
}

const sanitize = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The message and details of the 403 the authorization filter writes for `user`. */
export function forbidden(ri: RequestInfo, user: string): { message: string; details: StatusDetails } {
  let msg: string;
  if (!ri.isResourceRequest) {
    msg = `User ${goQuote(user)} cannot ${ri.verb} path ${goQuote(ri.path)}`;
  } else {
    const resource = ri.subresource ? `${ri.resource}/${ri.subresource}` : ri.resource;
    msg = ri.namespace
      ? `User ${goQuote(user)} cannot ${ri.verb} resource ${goQuote(resource)} in API group ${goQuote(ri.apiGroup)} in the namespace ${goQuote(ri.namespace)}`
      : `User ${goQuote(user)} cannot ${ri.verb} resource ${goQuote(resource)} in API group ${goQuote(ri.apiGroup)} at the cluster scope`;
  }
  msg = sanitize(msg);
  const res = ri.isResourceRequest ? ri.resource : '';
  const qualified = ri.isResourceRequest && ri.apiGroup ? `${res}.${ri.apiGroup}` : res;
  let message: string;
  if (res === '' && (!ri.isResourceRequest || ri.apiGroup === '')) message = `forbidden: ${msg}`;
  else if (ri.name === '') message = `${qualified} is forbidden: ${msg}`;
  else message = `${qualified} ${goQuote(ri.name)} is forbidden: ${msg}`;
  return { message, details: { name: ri.name, group: ri.isResourceRequest ? ri.apiGroup : '', kind: res } };
}

/** fmt's %q-free Status JSON as the apiserver's serializer writes it: compact with a newline, or indented for curl/Wget/browsers and ?pretty. */
export function encodeStatus(status: Record<string, unknown>, pretty: boolean): string {
  return pretty ? goJson(status, '', '  ') : `${goJson(status)}\n`;
}

/** The apiserver's isPrettyPrint: ?pretty=<bool> wins, else curl, Wget and browsers get indented JSON. */
export function isPrettyPrint(query: URLSearchParams, rawQuery: string, userAgent: string): boolean {
  if (rawQuery.includes('pretty')) {
    const pp = query.get('pretty');
    if (pp !== null && pp !== '') return goParseBool(pp) ?? false;
  }
  return userAgent.startsWith('curl') || userAgent.startsWith('Wget') || userAgent.startsWith('Mozilla/5.0');
}

// ---------------------------------------------------------------- discovery

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const GUP = ['get', 'patch', 'update'];
const r = (name: string, singularName: string, namespaced: boolean, kind: string, verbs: string[], shortNames?: string[], categories?: string[]): ApiResource => ({
  name,
  singularName,
  namespaced,
  kind,
  verbs,
  ...(shortNames ? { shortNames } : {}),
  ...(categories ? { categories } : {}),
});

export const CORE_V1: ApiResource[] = [
  r('bindings', 'binding', true, 'Binding', ['create']),
  r('componentstatuses', 'componentstatus', false, 'ComponentStatus', ['get', 'list'], ['cs']),
  r('configmaps', 'configmap', true, 'ConfigMap', RW, ['cm']),
  r('endpoints', 'endpoints', true, 'Endpoints', RW, ['ep']),
  r('events', 'event', true, 'Event', RW, ['ev']),
  r('limitranges', 'limitrange', true, 'LimitRange', RW, ['limits']),
  r('namespaces', 'namespace', false, 'Namespace', ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['ns']),
  r('namespaces/finalize', '', false, 'Namespace', ['update']),
  r('namespaces/status', '', false, 'Namespace', GUP),
  r('nodes', 'node', false, 'Node', RW, ['no']),
  r('nodes/proxy', '', false, 'NodeProxyOptions', ['create', 'delete', 'get', 'patch', 'update']),
  r('nodes/status', '', false, 'Node', GUP),
  r('persistentvolumeclaims', 'persistentvolumeclaim', true, 'PersistentVolumeClaim', RW, ['pvc']),
  r('persistentvolumeclaims/status', '', true, 'PersistentVolumeClaim', GUP),
  r('persistentvolumes', 'persistentvolume', false, 'PersistentVolume', RW, ['pv']),
  r('persistentvolumes/status', '', false, 'PersistentVolume', GUP),
  r('pods', 'pod', true, 'Pod', RW, ['po'], ['all']),
  r('pods/attach', '', true, 'PodAttachOptions', ['create', 'get']),
  r('pods/binding', '', true, 'Binding', ['create']),
  r('pods/ephemeralcontainers', '', true, 'Pod', GUP),
  r('pods/eviction', '', true, 'Eviction', ['create']),
  r('pods/exec', '', true, 'PodExecOptions', ['create', 'get']),
  r('pods/log', '', true, 'Pod', ['get']),
  r('pods/portforward', '', true, 'PodPortForwardOptions', ['create', 'get']),
  r('pods/proxy', '', true, 'PodProxyOptions', ['create', 'delete', 'get', 'patch', 'update']),
  r('pods/status', '', true, 'Pod', GUP),
  r('podtemplates', 'podtemplate', true, 'PodTemplate', RW),
  r('replicationcontrollers', 'replicationcontroller', true, 'ReplicationController', RW, ['rc'], ['all']),
  r('resourcequotas', 'resourcequota', true, 'ResourceQuota', RW, ['quota']),
  r('secrets', 'secret', true, 'Secret', RW),
  r('serviceaccounts', 'serviceaccount', true, 'ServiceAccount', RW, ['sa']),
  r('serviceaccounts/token', '', true, 'TokenRequest', ['create']),
  r('services', 'service', true, 'Service', ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], ['svc'], ['all']),
  r('services/proxy', '', true, 'ServiceProxyOptions', ['create', 'delete', 'get', 'patch', 'update']),
  r('services/status', '', true, 'Service', GUP),
];

export const GROUPS: { name: string; version: string; resources: ApiResource[] }[] = [
  {
    name: 'apps',
    version: 'v1',
    resources: [
      r('controllerrevisions', 'controllerrevision', true, 'ControllerRevision', RW),
      r('daemonsets', 'daemonset', true, 'DaemonSet', RW, ['ds'], ['all']),
      r('daemonsets/status', '', true, 'DaemonSet', GUP),
      r('deployments', 'deployment', true, 'Deployment', RW, ['deploy'], ['all']),
      r('deployments/scale', '', true, 'Scale', GUP),
      r('deployments/status', '', true, 'Deployment', GUP),
      r('replicasets', 'replicaset', true, 'ReplicaSet', RW, ['rs'], ['all']),
      r('replicasets/scale', '', true, 'Scale', GUP),
      r('replicasets/status', '', true, 'ReplicaSet', GUP),
      r('statefulsets', 'statefulset', true, 'StatefulSet', RW, ['sts'], ['all']),
      r('statefulsets/scale', '', true, 'Scale', GUP),
      r('statefulsets/status', '', true, 'StatefulSet', GUP),
    ],
  },
  { name: 'authentication.k8s.io', version: 'v1', resources: [r('tokenreviews', 'tokenreview', false, 'TokenReview', ['create'])] },
  {
    name: 'authorization.k8s.io',
    version: 'v1',
    resources: [
      r('localsubjectaccessreviews', 'localsubjectaccessreview', true, 'LocalSubjectAccessReview', ['create']),
      r('selfsubjectaccessreviews', 'selfsubjectaccessreview', false, 'SelfSubjectAccessReview', ['create']),
      r('selfsubjectrulesreviews', 'selfsubjectrulesreview', false, 'SelfSubjectRulesReview', ['create']),
      r('subjectaccessreviews', 'subjectaccessreview', false, 'SubjectAccessReview', ['create']),
    ],
  },
  {
    name: 'batch',
    version: 'v1',
    resources: [
      r('cronjobs', 'cronjob', true, 'CronJob', RW, ['cj'], ['all']),
      r('cronjobs/status', '', true, 'CronJob', GUP),
      r('jobs', 'job', true, 'Job', RW, undefined, ['all']),
      r('jobs/status', '', true, 'Job', GUP),
    ],
  },
  { name: 'coordination.k8s.io', version: 'v1', resources: [r('leases', 'lease', true, 'Lease', RW)] },
  {
    name: 'networking.k8s.io',
    version: 'v1',
    resources: [
      r('ingressclasses', 'ingressclass', false, 'IngressClass', RW),
      r('ingresses', 'ingress', true, 'Ingress', RW, ['ing']),
      r('ingresses/status', '', true, 'Ingress', GUP),
      r('networkpolicies', 'networkpolicy', true, 'NetworkPolicy', RW, ['netpol']),
    ],
  },
  {
    name: 'rbac.authorization.k8s.io',
    version: 'v1',
    resources: [
      r('clusterrolebindings', 'clusterrolebinding', false, 'ClusterRoleBinding', RW),
      r('clusterroles', 'clusterrole', false, 'ClusterRole', RW),
      r('rolebindings', 'rolebinding', true, 'RoleBinding', RW),
      r('roles', 'role', true, 'Role', RW),
    ],
  },
  {
    name: 'storage.k8s.io',
    version: 'v1',
    resources: [
      r('csidrivers', 'csidriver', false, 'CSIDriver', RW),
      r('csinodes', 'csinode', false, 'CSINode', RW),
      r('storageclasses', 'storageclass', false, 'StorageClass', RW, ['sc']),
      r('volumeattachments', 'volumeattachment', false, 'VolumeAttachment', RW),
    ],
  },
];

/** Legacy (unaggregated) discovery documents, by non-resource path; undefined for other paths. */
export function discovery(path: string, serverAddress: string): Record<string, unknown> | undefined {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (p === '/api/v1') return { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE_V1 };
  if (p === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: GROUPS.map((g) => {
        const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
        return { name: g.name, versions: [gv], preferredVersion: gv };
      }),
    };
  }
  for (const g of GROUPS) {
    const gv = { groupVersion: `${g.name}/${g.version}`, version: g.version };
    if (p === `/apis/${g.name}`) return { kind: 'APIGroup', apiVersion: 'v1', name: g.name, versions: [gv], preferredVersion: gv };
    if (p === `/apis/${g.name}/${g.version}`) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv.groupVersion, resources: g.resources };
  }
  return undefined;
}

const SUBRESOURCE_KIND: Record<string, { group: string; version: string; kind: string }> = {
  Scale: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  Eviction: { group: 'policy', version: 'v1', kind: 'Eviction' },
  TokenRequest: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
};

export const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Whether the Accept header asks for aggregated discovery in the one version a 1.27/1.28 server has (v2beta1). */
export function wantsAggregated(accept: string): boolean {
  return accept
    .split(',')
    .map((x) => x.replace(/\s+/g, '').toLowerCase())
    .some((x) => x.startsWith('application/json;') && x.includes('g=apidiscovery.k8s.io') && x.includes('v=v2beta1') && x.includes('as=apigroupdiscoverylist'));
}

function aggregatedVersion(group: string, version: string, list: ApiResource[]): Record<string, unknown> {
  const top = list.filter((x) => !x.name.includes('/'));
  return {
    version,
    resources: top.map((x) => {
      const subs = list.filter((y) => y.name.startsWith(`${x.name}/`));
      return {
        resource: x.name,
        responseKind: { group, version, kind: x.kind },
        scope: x.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: x.singularName,
        verbs: x.verbs,
        shortNames: x.shortNames,
        categories: x.categories,
        subresources:
          subs.length === 0
            ? undefined
            : subs.map((y) => ({ subresource: y.name.slice(x.name.length + 1), responseKind: SUBRESOURCE_KIND[y.kind] ?? { group, version, kind: y.kind }, verbs: y.verbs })),
      };
    }),
    freshness: 'Current',
  };
}

/** The aggregated discovery document (apidiscovery.k8s.io/v2beta1) of /api or /apis. */
export function aggregatedDiscovery(path: string): Record<string, unknown> | undefined {
  const p = path.replace(/\/+$/, '');
  const items =
    p === '/api'
      ? [{ metadata: { creationTimestamp: null }, versions: [aggregatedVersion('', 'v1', CORE_V1)] }]
      : p === '/apis'
        ? GROUPS.map((g) => ({ metadata: { name: g.name, creationTimestamp: null }, versions: [aggregatedVersion(g.name, g.version, g.resources)] }))
        : undefined;
  return items ? { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2beta1', metadata: {}, items } : undefined;
}

// ---------------------------------------------------------------- the decision

export type Identity = { kind: 'anonymous' } | { kind: 'bad-token' } | { kind: 'bad-cert'; cn: string };

/** Non-resource URLs a stock RBAC cluster lets system:unauthenticated GET (system:public-info-viewer, and system:discovery as clusters that predate 1.14 keep it). */
export function anonymousMayGet(path: string): boolean {
  if (['/healthz', '/livez', '/readyz', '/version', '/version/', '/api', '/apis', '/openapi'].includes(path)) return true;
  return path.startsWith('/api/') || path.startsWith('/apis/') || path.startsWith('/openapi/');
}

export interface K8sRequest {
  method: string;
  /** the raw request target */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** TLS client certificate subject CN (undefined when none was sent) */
  clientCertCn?: string;
}

export interface K8sReply {
  status: number;
  contentType: string;
  body: string;
  /** X-Content-Type-Options: nosniff */
  nosniff: boolean;
  /** API Priority and Fairness classification (flow schema, priority level) when it ran */
  apf?: { flowSchema: string; priorityLevel: string };
  /** the apiserver's Go 400 for an unparsable target (no apiserver headers) */
  raw400?: boolean;
  /** headers besides the apiserver's usual ones (name -> value, sorted in with them) */
  extraHeaders?: Record<string, string>;
  fields: Record<string, unknown>;
}

const HEALTH_CHECKS: Record<string, string[]> = {
  '/healthz': ['ping', 'log', 'etcd', 'poststarthook/start-kube-apiserver-admission-initializer', 'poststarthook/generic-apiserver-start-informers', 'poststarthook/priority-and-fairness-config-consumer', 'poststarthook/priority-and-fairness-filter', 'poststarthook/storage-object-count-tracker-hook', 'poststarthook/start-apiextensions-informers', 'poststarthook/start-apiextensions-controllers', 'poststarthook/crd-informer-synced', 'poststarthook/start-service-ip-repair-controllers', 'poststarthook/rbac/bootstrap-roles', 'poststarthook/scheduling/bootstrap-system-priority-classes', 'poststarthook/priority-and-fairness-config-producer', 'poststarthook/start-system-namespaces-controller', 'poststarthook/bootstrap-controller', 'poststarthook/start-cluster-authentication-info-controller', 'poststarthook/start-kube-apiserver-identity-lease-controller', 'poststarthook/start-deprecated-kube-apiserver-identity-lease-garbage-collector', 'poststarthook/start-kube-apiserver-identity-lease-garbage-collector', 'poststarthook/start-legacy-token-tracking-controller', 'poststarthook/aggregator-reload-proxy-client-cert', 'poststarthook/start-kube-aggregator-informers', 'poststarthook/apiservice-registration-controller', 'poststarthook/apiservice-status-available-controller', 'poststarthook/kube-apiserver-autoregistration', 'autoregister-completion', 'poststarthook/apiservice-openapi-controller', 'poststarthook/apiservice-openapiv3-controller', 'poststarthook/apiservice-discovery-controller'],
};
HEALTH_CHECKS['/livez'] = HEALTH_CHECKS['/healthz']!;
HEALTH_CHECKS['/readyz'] = [...HEALTH_CHECKS['/healthz']!.slice(0, 3), 'informer-sync', ...HEALTH_CHECKS['/healthz']!.slice(3), 'shutdown'];

/** Decide and render the apiserver's answer. */
export function handleK8s(req: K8sRequest, version: VersionInfo, serverAddress: string): K8sReply {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const path = unescapePath(rawPath);
  if (path === undefined || (!path.startsWith('/') && path !== '*')) {
    return { status: 400, contentType: 'text/plain; charset=utf-8', body: '400 Bad Request', nosniff: false, raw400: true, fields: { k8s_error: 'bad request target' } };
  }
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(rawQuery);
  } catch {
    query = new URLSearchParams();
  }
  const ri = requestInfo(req.method, path, query);
  const h = (n: string) => {
    const v = req.headers[n];
    return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  };
  const pretty = isPrettyPrint(query, rawQuery, h('user-agent'));
  const auth = h('authorization');
  const bm = /^\s*(\S+)\s+(.*)$/.exec(auth);
  const wsToken = /(?:^|[\s,])base64url\.bearer\.authorization\.k8s\.io\.([A-Za-z0-9_-]+)/.exec(h('sec-websocket-protocol'));
  const identity: Identity =
    (bm && bm[1]!.toLowerCase() === 'bearer' && bm[2]!.trim() !== '') || wsToken ? { kind: 'bad-token' } : req.clientCertCn !== undefined ? { kind: 'bad-cert', cn: req.clientCertCn } : { kind: 'anonymous' };
  const fields: Record<string, unknown> = {
    k8s_verb: ri.verb,
    k8s_resource_request: ri.isResourceRequest,
    ...(ri.isResourceRequest
      ? {
          k8s_api_group: ri.apiGroup,
          k8s_api_version: ri.apiVersion,
          k8s_resource: ri.resource,
          ...(ri.subresource ? { k8s_subresource: ri.subresource } : {}),
          ...(ri.namespace ? { k8s_namespace: ri.namespace } : {}),
          ...(ri.name ? { k8s_name: ri.name } : {}),
        }
      : { k8s_path: path.slice(0, 1024) }),
    k8s_user: identity.kind === 'anonymous' ? 'system:anonymous' : '',
    k8s_auth: identity.kind,
  };
  const json = 'application/json';
  if (identity.kind !== 'anonymous') {
    // the token or certificate authenticator fails, and with anonymous auth on the union fails on that error
    return { status: 401, contentType: json, body: encodeStatus(statusObject('Unauthorized', 'Unauthorized', 401), pretty), nosniff: false, fields: { ...fields, k8s_decision: 'unauthorized' } };
  }
  const probe = ['/healthz', '/livez', '/readyz'].includes(path);
  const apf = isLongRunning(ri) ? undefined : probe ? { flowSchema: 'probes', priorityLevel: 'exempt' } : { flowSchema: 'global-default', priorityLevel: 'global-default' };
  const allowed = !ri.isResourceRequest && ri.verb === 'get' && anonymousMayGet(path);
  if (!allowed) {
    const f = forbidden(ri, 'system:anonymous');
    return {
      status: 403,
      contentType: json,
      body: encodeStatus(statusObject(f.message, 'Forbidden', 403, f.details), pretty),
      nosniff: true,
      ...(apf ? { apf } : {}),
      fields: { ...fields, k8s_decision: 'forbidden' },
    };
  }
  const ok = (body: string, contentType = json, nosniff = false): K8sReply => ({ status: 200, contentType, body, nosniff, ...(apf ? { apf } : {}), fields: { ...fields, k8s_decision: 'allowed' } });
  if (path === '/version' || path === '/version/') return ok(goJson(version, '', '  '));
  if (probe) {
    const verbose = query.has('verbose');
    if (!verbose) return ok('ok', 'text/plain; charset=utf-8', true);
    const checks = HEALTH_CHECKS[path]!.map((c) => `[+]${c} ok\n`).join('');
    return ok(`${checks}${path.slice(1)} check passed\n`, 'text/plain; charset=utf-8', true);
  }
  const agg = wantsAggregated(h('accept')) ? aggregatedDiscovery(path) : undefined;
  if (agg) {
    const body = pretty ? goJson(agg, '', '  ') : `${goJson(agg)}\n`;
    const etag = `"${createHash('sha512').update(goJson(agg)).digest('hex').toUpperCase()}"`;
    return { ...ok(body, AGGREGATED_V2BETA1), extraHeaders: { Etag: etag, Vary: 'Accept' } };
  }
  const doc = discovery(path, serverAddress);
  if (doc) return ok(pretty ? goJson(doc, '', '  ') : `${goJson(doc)}\n`);
  // allowed but not served here (an unknown group, /openapi/v2 ...): the apiserver's NotFound handler
  return { status: 404, contentType: json, body: encodeStatus(statusObject('the server could not find the requested resource', 'NotFound', 404, {}), pretty), nosniff: false, ...(apf ? { apf } : {}), fields: { ...fields, k8s_decision: 'not_found' } };
}
