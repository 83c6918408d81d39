/**
 * The Docker Engine API as an exposed dockerd answers it (the cryptominer
 * crews' favourite target), pure: one request in, status, headers, body and
 * the fields of its request event out. Reads are answered from a small fake
 * host (two containers, three images); the write calls attackers send are
 * recorded and fail as a real engine behind an egress firewall fails: create
 * of an image it does not have -> 404 "No such image", the pull -> the
 * registry timeout, start -> the OCI runtime error. Nothing is ever run.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_DOCKER_VERSION = '24.0.7';
export const MAX_BODY_PARSE = 256 * 1024;

interface EngineFacts {
  api: string;
  commit: string;
  go: string;
  built: string;
  containerd: [string, string];
  runc: [string, string];
}

/** Facts of the releases an exposed engine usually runs (docker version on each). */
const RELEASES: Record<string, EngineFacts> = {
  '20.10': { api: '1.41', commit: '9d8d8b8', go: 'go1.18.10', built: '2023-01-19T17:33:20.000000000+00:00', containerd: ['1.6.15', '5b842e528e99d4d4c1686467debf2bd4b88ecd86'], runc: ['1.1.4', 'v1.1.4-0-g5fd4c4d'] },
  '23.0': { api: '1.42', commit: '3f1a0bf', go: 'go1.20.5', built: '2023-07-25T17:52:47.000000000+00:00', containerd: ['1.6.22', '8165feabfdfe38c65b599c4993d227328c231fca'], runc: ['1.1.8', 'v1.1.8-0-g82f18fe'] },
  '24.0': { api: '1.43', commit: '311b9ff', go: 'go1.20.10', built: '2023-10-26T09:07:41.000000000+00:00', containerd: ['1.6.25', 'd8f198a4ed8892c764191ef7b3b06d8a2eeb5c7f'], runc: ['1.1.10', 'v1.1.10-0-g18a0cb0'] },
  '25.0': { api: '1.44', commit: '615dfdf', go: 'go1.21.6', built: '2024-01-19T18:54:11.000000000+00:00', containerd: ['1.6.27', 'a1496014c916f9e62104b33d1bb5bd03b0858e59'], runc: ['1.1.11', 'v1.1.11-0-g4bccb38'] },
  '26.1': { api: '1.45', commit: 'ac2de55', go: 'go1.21.10', built: '2024-05-16T08:33:33.000000000+00:00', containerd: ['1.6.31', 'e377cd56a71523140ca6ae87e30244719194a521'], runc: ['1.1.12', 'v1.1.12-0-g51d5e94'] },
  '27.0': { api: '1.46', commit: '662f78c', go: 'go1.21.11', built: '2024-06-28T19:31:07.000000000+00:00', containerd: ['1.7.18', 'ae71819c4f5e67bb4d5ae76a6b735f29cc25774e'], runc: ['1.7.18', 'v1.1.13-0-g58aa920'] },
};

export interface EnginePersona {
  version: string;
  hostname: string;
  kernel: string;
  operatingSystem: string;
  ncpu: number;
  memTotal: number;
  /** seeds ids so a decky's containers and images keep their ids */
  seed: string;
}

export function engineFacts(version: string): EngineFacts {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const key = m ? `${m[1]}.${m[2]}` : '24.0';
  return RELEASES[key] ?? RELEASES[m ? `${m[1]}.0` : '24.0'] ?? RELEASES['24.0']!;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export interface DockerRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
}

export interface DockerReply {
  status: number;
  /** JSON value, or a string sent as text/plain */
  json?: unknown;
  text?: string;
  /** newline-delimited JSON messages (the pull stream) */
  stream?: unknown[];
  fields: Record<string, unknown>;
  /** dockerd's router 404: no version middleware, so none of the engine headers */
  bare?: boolean;
}

interface FakeContainer {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string;
  created: number;
  ports: Array<{ PrivatePort: number; PublicPort?: number; Type: string; IP?: string }>;
}

export class DockerEngine {
  readonly facts: EngineFacts;
  private readonly images: Array<{ repoTag: string; id: string; size: number; created: number }>;
  private readonly containers: FakeContainer[];
  private readonly bootSeconds: number;
  /** containers the attacker created (bounded): they exist, but never start */
  private readonly created = new Map<string, string>();

  constructor(readonly p: EnginePersona, now = Date.now()) {
    this.facts = engineFacts(p.version);
    const day = 86400;
    const t = Math.floor(now / 1000);
    this.bootSeconds = t - 9 * day;
    this.images = [
      { repoTag: 'nginx:1.25', id: `sha256:${sha(`${p.seed}nginx`)}`, size: 187_000_000, created: t - 40 * day },
      { repoTag: 'postgres:15', id: `sha256:${sha(`${p.seed}postgres`)}`, size: 412_000_000, created: t - 55 * day },
      { repoTag: 'registry.gitlab.com/acme/billing-api:2.4.1', id: `sha256:${sha(`${p.seed}billing`)}`, size: 254_000_000, created: t - 12 * day },
    ];
    this.containers = [
      { id: sha(`${p.seed}c1`), name: '/billing-api', image: this.images[2]!.repoTag, imageId: this.images[2]!.id, command: 'node dist/server.js', created: t - 9 * day, ports: [{ IP: '0.0.0.0', PrivatePort: 8080, PublicPort: 8080, Type: 'tcp' }] },
      { id: sha(`${p.seed}c2`), name: '/billing-db', image: this.images[1]!.repoTag, imageId: this.images[1]!.id, command: 'docker-entrypoint.sh postgres', created: t - 9 * day, ports: [{ PrivatePort: 5432, Type: 'tcp' }] },
    ];
  }

  get apiVersion(): string {
    return this.facts.api;
  }

  /** Headers every engine reply carries (besides Content-Type and Date). */
  headers(): Record<string, string> {
    return { 'Api-Version': this.facts.api, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `Docker/${this.p.version} (linux)` };
  }

  handle(req: DockerRequest): DockerReply {
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(req.path);
    const path = m ? m[2]! : req.path;
    const fields: Record<string, unknown> = { docker_api_version: m ? m[1] : undefined };
    if (m && Number(m[1]) > Number(this.facts.api)) {
      return { status: 400, json: { message: `client version ${m[1]} is too new. Maximum supported API version is ${this.facts.api}` }, fields };
    }
    const seg = path.split('/').filter(Boolean);
    const method = req.method.toUpperCase();
    const notFound: DockerReply = { status: 404, json: { message: 'page not found' }, fields, bare: true };
    // dockerd answers OPTIONS on any path (its CORS handler): 200, empty
    if (method === 'OPTIONS') return { status: 200, fields: { ...fields, docker_op: 'options' } };
    const body = parseJson(req.body);
    if (path === '/_ping' && (method === 'GET' || method === 'HEAD')) return { status: 200, text: 'OK', fields: { ...fields, docker_op: 'ping' } };
    if (method === 'GET' && path === '/version') return { status: 200, json: this.version(), fields: { ...fields, docker_op: 'version' } };
    if (method === 'GET' && path === '/info') return { status: 200, json: this.info(), fields: { ...fields, docker_op: 'info', technique: 'discovery' } };
    if (method === 'GET' && path === '/containers/json') return { status: 200, json: this.containers.map((c) => this.summary(c)), fields: { ...fields, docker_op: 'container_list', technique: 'discovery' } };
    if (method === 'GET' && path === '/images/json') return { status: 200, json: this.images.map((i) => this.imageSummary(i)), fields: { ...fields, docker_op: 'image_list', technique: 'discovery' } };
    if (method === 'POST' && path === '/containers/create') return this.create(req, body, fields);
    if (method === 'POST' && path === '/images/create') {
      const ref = `${req.query.get('fromImage') ?? ''}${req.query.get('tag') ? `:${req.query.get('tag')}` : ''}`.slice(0, 256);
      // the CLI sends the normalised reference (docker.io/library/alpine); the event names the image as typed
      const image = ref.replace(/^docker\.io\/(library\/)?/, '');
      return {
        status: 500,
        json: { message: 'Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)' },
        fields: { ...fields, docker_op: 'image_pull', image, image_ref: ref, technique: 'image_pull' },
      };
    }
    if (seg[0] === 'containers' && seg[1] && seg.length >= 2) {
      const c = this.find(seg[1]);
      const op = seg[2] ?? '';
      const f = { ...fields, container: seg[1].slice(0, 128) };
      const mine = [...this.created.keys()].find((id) => seg[1]!.length >= 4 && id.startsWith(seg[1]!.toLowerCase()));
      if (!c && mine) {
        if (method === 'POST' && op === 'start') {
          return {
            status: 500,
            json: { message: 'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: unable to freeze: unknown' },
            fields: { ...f, docker_op: 'container_start', image: this.created.get(mine) },
          };
        }
        if (method === 'POST' && (op === 'attach' || op === 'wait')) return { status: 500, json: { message: `container ${mine} is not running` }, fields: { ...f, docker_op: `container_${op}` } };
        if (method === 'DELETE') {
          this.created.delete(mine);
          return { status: 204, fields: { ...f, docker_op: 'container_delete' } };
        }
      }
      if (!c) return { status: 404, json: { message: `No such container: ${seg[1].slice(0, 128)}` }, fields: { ...f, docker_op: `container_${op || 'inspect'}` } };
      if (method === 'GET' && op === 'json') return { status: 200, json: this.inspect(c), fields: { ...f, docker_op: 'container_inspect' } };
      if (method === 'POST' && op === 'start') return { status: 304, fields: { ...f, docker_op: 'container_start' } };
      if (method === 'POST' && op === 'exec') {
        const cmd = Array.isArray(body?.['Cmd']) ? (body!['Cmd'] as unknown[]).map(String).slice(0, 64) : [];
        return { status: 201, json: { Id: sha(`${c.id}${JSON.stringify(cmd)}${Date.now()}`) }, fields: { ...f, docker_op: 'exec_create', cmd: cmd.join(' ').slice(0, 2048), technique: 'container_exec' } };
      }
      if (method === 'GET' && op === 'logs') return { status: 200, text: '', fields: { ...f, docker_op: 'container_logs' } };
      if (method === 'DELETE' && seg.length === 2) return { status: 409, json: { message: `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove` }, fields: { ...f, docker_op: 'container_delete', technique: 'impact' } };
      if (method === 'POST' && (op === 'stop' || op === 'kill' || op === 'restart')) return { status: 204, fields: { ...f, docker_op: `container_${op}`, technique: 'impact' } };
      return notFound;
    }
    if (seg[0] === 'exec' && seg[1] && method === 'POST' && seg[2] === 'start') {
      return {
        status: 500,
        json: { message: 'OCI runtime exec failed: exec failed: unable to start container process: error executing setns process: exit status 1: unknown' },
        fields: { ...fields, docker_op: 'exec_start', exec: seg[1].slice(0, 128) },
      };
    }
    if (seg[0] === 'exec' && seg[1] && method === 'GET' && seg[2] === 'json') return { status: 404, json: { message: `No such exec instance: ${seg[1].slice(0, 128)}` }, fields };
    return notFound;
  }

  private find(ref: string): FakeContainer | undefined {
    return this.containers.find((c) => c.id.startsWith(ref.toLowerCase()) && ref.length >= 1 || c.name === `/${ref}`);
  }

  private create(req: DockerRequest, body: Record<string, unknown> | undefined, fields: Record<string, unknown>): DockerReply {
    const image = typeof body?.['Image'] === 'string' ? body['Image'].slice(0, 256) : '';
    const cmd = Array.isArray(body?.['Cmd']) ? (body!['Cmd'] as unknown[]).map(String).slice(0, 64) : typeof body?.['Cmd'] === 'string' ? [body['Cmd']] : [];
    const entrypoint = Array.isArray(body?.['Entrypoint']) ? (body!['Entrypoint'] as unknown[]).map(String).slice(0, 16) : [];
    const host = (body?.['HostConfig'] ?? {}) as Record<string, unknown>;
    const binds = Array.isArray(host['Binds']) ? (host['Binds'] as unknown[]).map(String).slice(0, 32) : [];
    const mounts = Array.isArray(host['Mounts']) ? (host['Mounts'] as Array<Record<string, unknown>>).map((x) => `${String(x['Source'] ?? '')}:${String(x['Target'] ?? '')}`).slice(0, 32) : [];
    const privileged = host['Privileged'] === true;
    const pidHost = host['PidMode'] === 'host';
    const netHost = host['NetworkMode'] === 'host';
    const techniques = [
      'container_create',
      ...(privileged ? ['privileged'] : []),
      ...([...binds, ...mounts].some((b) => /^\/(:|$)|^\/(etc|root|var\/run\/docker\.sock|proc|sys)\b/.test(b)) ? ['host_mount'] : []),
      ...(pidHost ? ['host_pid'] : []),
      ...(netHost ? ['host_network'] : []),
    ];
    const f = {
      ...fields,
      docker_op: 'container_create',
      image,
      name: (req.query.get('name') ?? '').slice(0, 128) || undefined,
      cmd: [...entrypoint, ...cmd].join(' ').slice(0, 2048),
      binds: [...binds, ...mounts],
      privileged,
      technique: techniques.join(','),
    };
    if (image === '') return { status: 400, json: { message: 'config cannot be empty in order to create a container' }, fields: f };
    const known = this.images.find((i) => i.repoTag === image || i.repoTag === `${image}:latest` || i.id.startsWith(image));
    if (!known) return { status: 404, json: { message: `No such image: ${image.includes(':') || image.includes('@') ? image : `${image}:latest`}` }, fields: f };
    const id = sha(`${this.p.seed}${JSON.stringify(body)}${Date.now()}${this.created.size}`);
    if (this.created.size >= 64) this.created.delete(this.created.keys().next().value!);
    this.created.set(id, image);
    return { status: 201, json: { Id: id, Warnings: [] }, fields: { ...f, container: id } };
  }

  version(): Record<string, unknown> {
    const f = this.facts;
    return {
      Platform: { Name: 'Docker Engine - Community' },
      Components: [
        { Name: 'Engine', Version: this.p.version, Details: { ApiVersion: f.api, Arch: 'amd64', BuildTime: f.built, Experimental: 'false', GitCommit: f.commit, GoVersion: f.go, KernelVersion: this.p.kernel, MinAPIVersion: '1.12', Os: 'linux' } },
        { Name: 'containerd', Version: f.containerd[0], Details: { GitCommit: f.containerd[1] } },
        { Name: 'runc', Version: f.runc[0], Details: { GitCommit: f.runc[1] } },
        { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
      ],
      Version: this.p.version,
      ApiVersion: f.api,
      MinAPIVersion: '1.12',
      GitCommit: f.commit,
      GoVersion: f.go,
      Os: 'linux',
      Arch: 'amd64',
      KernelVersion: this.p.kernel,
      BuildTime: f.built,
    };
  }

  info(): Record<string, unknown> {
    return {
      ID: sha(`${this.p.seed}id`).slice(0, 36).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5'),
      Containers: this.containers.length,
      ContainersRunning: this.containers.length,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: this.images.length,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['awslogs', 'fluentd', 'gcplogs', 'gelf', 'journald', 'json-file', 'local', 'logentries', 'splunk', 'syslog'] },
      MemoryLimit: true,
      SwapLimit: false,
      KernelMemoryTCP: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      BridgeNfIptables: true,
      BridgeNfIp6tables: true,
      Debug: false,
      NFd: 38,
      OomKillDisable: false,
      NGoroutines: 52,
      SystemTime: new Date().toISOString().replace('Z', '000000Z'),
      LoggingDriver: 'json-file',
      CgroupDriver: 'systemd',
      CgroupVersion: '2',
      NEventsListener: 0,
      KernelVersion: this.p.kernel,
      OperatingSystem: this.p.operatingSystem,
      OSVersion: /(\d+(\.\d+)*)/.exec(this.p.operatingSystem)?.[1] ?? '',
      OSType: 'linux',
      Architecture: 'x86_64',
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } }, Mirrors: null },
      NCPU: this.p.ncpu,
      MemTotal: this.p.memTotal,
      GenericResources: null,
      DockerRootDir: '/var/lib/docker',
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: this.p.hostname,
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: this.p.version,
      Runtimes: { 'io.containerd.runc.v2': { path: 'runc' }, runc: { path: 'runc' } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: this.facts.containerd[1], Expected: this.facts.containerd[1] },
      RuncCommit: { ID: this.facts.runc[1], Expected: this.facts.runc[1] },
      InitCommit: { ID: 'de40ad0', Expected: 'de40ad0' },
      SecurityOptions: ['name=apparmor', 'name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: ['WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the \'Docker daemon attack surface\' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/'],
    };
  }

  private summary(c: FakeContainer): Record<string, unknown> {
    const up = Math.max(1, Math.floor((Date.now() / 1000 - c.created) / 86400));
    return {
      Id: c.id,
      Names: [c.name],
      Image: c.image,
      ImageID: c.imageId,
      Command: c.command,
      Created: c.created,
      Ports: c.ports,
      Labels: {},
      State: 'running',
      Status: `Up ${up} days`,
      HostConfig: { NetworkMode: 'default' },
      NetworkSettings: { Networks: { bridge: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: sha(`${this.p.seed}bridge`), EndpointID: sha(c.id), Gateway: '172.17.0.1', IPAddress: `172.17.0.${this.containers.indexOf(c) + 2}`, IPPrefixLen: 16, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: `02:42:ac:11:00:0${this.containers.indexOf(c) + 2}`, DriverOpts: null } } },
      Mounts: [],
    };
  }

  private inspect(c: FakeContainer): Record<string, unknown> {
    return {
      Id: c.id,
      Created: new Date(c.created * 1000).toISOString(),
      Path: c.command.split(' ')[0],
      Args: c.command.split(' ').slice(1),
      State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 1000 + this.containers.indexOf(c) * 37, ExitCode: 0, Error: '', StartedAt: new Date(this.bootSeconds * 1000 + 60_000).toISOString(), FinishedAt: '0001-01-01T00:00:00Z' },
      Image: c.imageId,
      Name: c.name,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      Config: { Hostname: c.id.slice(0, 12), Image: c.image, Cmd: c.command.split(' '), Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    };
  }

  private imageSummary(i: { repoTag: string; id: string; size: number; created: number }): Record<string, unknown> {
    return { Containers: -1, Created: i.created, Id: i.id, Labels: null, ParentId: '', RepoDigests: [`${i.repoTag.split(':')[0]}@sha256:${sha(`${i.id}digest`)}`], RepoTags: [i.repoTag], SharedSize: -1, Size: i.size, VirtualSize: i.size };
  }
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0 || body.length > MAX_BODY_PARSE) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
