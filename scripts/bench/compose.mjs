/**
 * The docker-compose contender: a compose file (format 2.4, which compose 1.29 reads) that
 * creates the same containers with the same options as decnet, generated from decnet's own
 * create bodies (containerCreateBody / networkCreateBody), and a runner for Debian's
 * `docker-compose` 1.29 (apt-installed here when missing).
 *
 * One deviation, forced by compose: a service joins its base with `network_mode:
 * "service:<base>"` rather than `"container:<name>"`. Compose 1.29 resolves `container:`
 * when it loads the project, so on a fresh host it refuses the file ("uses the network
 * stack of container ... which does not exist"); `service:` makes it create the base first
 * and gives the engine the same `container:<id>` network mode.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { containerCreateBody, networkCreateBody } from '@decnet/engine';
import { must, run } from './lib.mjs';

const bytes = (n) => n; // compose 1.29 takes mem_limit as a byte count

function logging(lc) {
  return { driver: lc.Type, options: { ...lc.Config } };
}

function tmpfs(t) {
  return Object.entries(t ?? {}).map(([path, opts]) => (opts ? `${path}:${opts}` : path));
}

/** One compose service from a dockerode create body. `netKey` is the compose network key. */
function composeService(body, netKey, baseKeyByName) {
  const h = body.HostConfig;
  const svc = {
    container_name: body.name,
    image: body.Image,
    ...(body.Hostname ? { hostname: body.Hostname } : {}),
    ...(body.Cmd ? { command: [...body.Cmd] } : {}),
    ...(body.Env ? { environment: [...body.Env] } : {}),
    labels: { ...body.Labels },
    stop_grace_period: `${body.StopTimeout}s`,
    read_only: h.ReadonlyRootfs,
    privileged: h.Privileged,
    init: h.Init,
    restart: h.RestartPolicy.Name,
    cap_drop: [...h.CapDrop],
    ...(h.CapAdd ? { cap_add: [...h.CapAdd] } : {}),
    security_opt: [...h.SecurityOpt],
    logging: logging(h.LogConfig),
    ...(h.Sysctls && Object.keys(h.Sysctls).length > 0 ? { sysctls: { ...h.Sysctls } } : {}),
    tmpfs: tmpfs(h.Tmpfs),
    mem_limit: bytes(h.Memory),
    pids_limit: h.PidsLimit,
    ...(h.Mounts ? { volumes: h.Mounts.map((m) => ({ type: m.Type, source: m.Source, target: m.Target, read_only: m.ReadOnly })) } : {}),
  };
  if (h.NetworkMode.startsWith('container:')) {
    const base = h.NetworkMode.slice('container:'.length);
    const key = baseKeyByName.get(base);
    if (!key) throw new Error(`compose: base ${base} of ${body.name} is not in the file`);
    svc.network_mode = `service:${key}`;
  } else {
    const ep = body.NetworkingConfig.EndpointsConfig[h.NetworkMode];
    svc.networks = { [netKey]: { ipv4_address: ep.IPAMConfig.IPv4Address } };
  }
  return svc;
}

/** The compose document (an object) for every create op of plan `p`; `parent` is the lab veth. */
export function composeDocument(p, { stateDir, parent }) {
  const netOp = p.ops.find((o) => o.op === 'create-network');
  const nb = networkCreateBody(netOp, parent);
  const netKey = 'fleet';
  const ipam = nb.IPAM.Config[0];
  const doc = {
    version: '2.4',
    services: {},
    networks: {
      [netKey]: {
        name: nb.Name,
        driver: nb.Driver,
        driver_opts: { ...nb.Options },
        enable_ipv6: nb.EnableIPv6,
        internal: nb.Internal,
        ipam: { driver: nb.IPAM.Driver, config: [{ subnet: ipam.Subnet, gateway: ipam.Gateway, ip_range: ipam.IPRange }] },
        labels: { ...nb.Labels },
      },
    },
  };
  const bodies = p.ops.filter((o) => o.op === 'create-container').map((op) => containerCreateBody(op, { stateDir }));
  // compose service keys are the container names (a DNS label is a valid compose key)
  const baseKeyByName = new Map(bodies.filter((b) => !b.HostConfig.NetworkMode.startsWith('container:')).map((b) => [b.name, b.name]));
  for (const b of bodies) doc.services[b.name] = composeService(b, netKey, baseKeyByName);
  return doc;
}

export function writeComposeFile(path, doc) {
  writeFileSync(path, stringify(doc, { lineWidth: 0 }));
}

/** Makes sure Debian's docker-compose (1.x) is installed; returns its version line. */
export async function ensureCompose(log) {
  let v = await run('docker-compose', ['version', '--short']).catch(() => ({ code: -1 }));
  if (v.code !== 0) {
    log('docker-compose missing: apt-get install -y docker-compose');
    await must('apt-get', ['install', '-y', 'docker-compose'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).catch(async () => {
      await must('apt-get', ['update']);
      await must('apt-get', ['install', '-y', 'docker-compose'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    });
    v = await run('docker-compose', ['version', '--short']);
  }
  return v.stdout.trim();
}

/**
 * Parallel limit compose must run with for a file of `services` services. Compose 1.x holds
 * a slot of its global limit while a service waits for its own container tasks, which need
 * a slot too, so any limit below the number of services that are ready at once deadlocks
 * it (docker/compose#5864, #8226; its default of 64 stalls at a few hundred containers,
 * #8161). The only safe limit is one above the number of services: unbounded.
 */
export const composeParallelLimit = (services) => Math.max(64, services + 8);

/** `docker-compose -p <project> -f <file> <args...>`, timed; throws on failure. */
export function compose(project, file, args, limit) {
  // COMPOSE_HTTP_TIMEOUT: the default 60 s read timeout of engine calls fails compose at
  // N=100 on this loaded 2-core machine (hundreds of calls in flight); compose's own advice
  // is to raise it, so it runs with 600 s
  const env = { ...process.env, COMPOSE_PARALLEL_LIMIT: String(limit), COMPOSE_HTTP_TIMEOUT: '600', COMPOSE_INTERACTIVE_NO_CLI: '1' };
  return must('docker-compose', ['-p', project, '-f', file, ...args], { env, what: `docker-compose ${args.join(' ')}`, timeoutMs: 15 * 60_000 });
}
