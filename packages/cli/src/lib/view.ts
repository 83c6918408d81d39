/**
 * Views of the fleet built only from labels and container state: the rows of
 * `get`, the body of `describe`, and the readiness check `apply --wait` polls.
 */
import { containerName, type GroupedContainer, type GroupedState, type ObservedDecky, type ResolvedDecky } from '@decnet/api';
import { computeDeckyStatus, isFresh, readStatusFile, type ContainerSnapshot, type DeckyStatus } from '@decnet/controller';

export interface ContainerView {
  name: string;
  id: string;
  role: string;
  service?: string;
  state: string;
  image: string;
  generation?: number;
  exitCode?: number;
  restartCount?: number;
  startedAt?: string;
  error?: string;
}

export interface DeckyView {
  name: string;
  fleet: string;
  host: string;
  ip?: string;
  mac?: string;
  hostname?: string;
  distro?: string;
  archetype?: string;
  nmapOS?: string;
  services: string[];
  generation?: number;
  phase: DeckyStatus['phase'];
  status: DeckyStatus;
  createdAt?: string;
  mutation?: ResolvedDecky['mutation'];
  containers: ContainerView[];
  spec?: ResolvedDecky;
  errors: string[];
  /** where `status` comes from: computed from the containers, or the running controller's (it knows heal failures and crash loops) */
  statusSource?: 'containers' | 'controller';
}

function snapshot(c: GroupedContainer | undefined): ContainerSnapshot | undefined {
  if (!c) return undefined;
  const o = c.container;
  return { state: o.state, exitCode: o.exitCode, restartCount: o.restartCount, startedAt: o.startedAt };
}

/** Status of one observed decky, from its containers and label errors alone. */
export function deckyStatus(d: ObservedDecky, now: string): DeckyStatus {
  const byName = new Map(d.containers.map((c) => [c.container.name, c]));
  const base = byName.get(containerName(d.name, 'base'));
  const services: Record<string, ContainerSnapshot | undefined> = {};
  const wanted = d.spec?.services.map((s) => s.name) ?? d.containers.filter((c) => c.role === 'service' && c.service).map((c) => c.service!);
  for (const s of wanted) services[s] = snapshot(byName.get(containerName(d.name, 'service', s)));
  return computeDeckyStatus({
    generation: d.generation ?? 0,
    base: snapshot(base),
    services,
    labelErrors: d.errors.map((e) => `${e.container}: ${e.message}`),
    engineReachable: true,
    now,
  });
}

export function deckyView(d: ObservedDecky, hostId: string, now = new Date().toISOString()): DeckyView {
  const status = deckyStatus(d, now);
  const base = d.containers.find((c) => c.container.name === containerName(d.name, 'base'));
  const containers = d.containers
    .map<ContainerView>((c) => ({
      name: c.container.name,
      id: c.container.id.slice(0, 12),
      role: c.role ?? '?',
      service: c.service,
      state: c.container.state,
      image: c.container.image,
      generation: c.decoded?.generation,
      exitCode: c.container.exitCode,
      restartCount: c.container.restartCount,
      startedAt: c.container.startedAt,
      error: c.error ? `${c.error.code}: ${c.error.message}` : undefined,
    }))
    .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'base' ? -1 : 1));
  return {
    name: d.name,
    fleet: d.fleet ?? '?',
    host: hostId,
    ip: base?.container.ip ?? d.spec?.ip,
    mac: base?.container.mac,
    hostname: d.spec?.hostname,
    distro: d.spec?.distro,
    archetype: d.spec?.archetype,
    nmapOS: d.spec?.nmapOS,
    services: d.spec?.services.map((s) => s.name) ?? [],
    generation: d.generation,
    phase: status.phase,
    status,
    createdAt: base?.container.createdAt ?? base?.container.startedAt,
    mutation: d.spec?.mutation,
    containers,
    spec: d.spec,
    errors: d.errors.map((e) => `${e.container}: ${e.code}: ${e.message}`),
  };
}

export function deckyViews(g: GroupedState, now = new Date().toISOString()): DeckyView[] {
  return g.deckies.map((d) => deckyView(d, g.hostId, now));
}

/**
 * Merge what a running controller knows (`<stateDir>/status/<hostId>.json`, when fresher
 * than ~2 resync periods) into views computed from containers. The containers stay the
 * truth for anything the controller has not seen yet: its status is used when it observed
 * the same generation and either the containers look fine (it can only add problems:
 * crash loops, heal failures) or it also sees a problem (its reason is richer).
 */
export async function withControllerStatus(views: DeckyView[], stateDir: string, hostId: string, now = Date.now()): Promise<DeckyView[]> {
  const file = await readStatusFile(stateDir, hostId);
  if (!file || !isFresh(file, now)) return views.map((v) => ({ ...v, statusSource: 'containers' as const }));
  return views.map((v) => {
    const rec = file.deckies[v.name];
    const mine = rec?.status;
    if (!mine || mine.observedGeneration !== v.status.observedGeneration) return { ...v, statusSource: 'containers' as const };
    if (v.phase !== 'Running' && mine.phase === 'Running') return { ...v, statusSource: 'containers' as const };
    return { ...v, status: mine, phase: mine.phase, statusSource: 'controller' as const };
  });
}

/** A decky is ready when its spec matches what was submitted and every container runs. */
export function isReady(d: ObservedDecky | undefined, wantHash: string | undefined): boolean {
  if (!d || d.errors.length > 0 || !d.spec) return false;
  if (wantHash !== undefined && d.hash !== wantHash) return false;
  return deckyStatus(d, new Date().toISOString()).phase === 'Running';
}

/** "5m", "2h", "3d" style age from an RFC 3339 time. */
export function age(since: string | undefined, now = Date.now()): string {
  if (!since) return '<none>';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (!Number.isFinite(s)) return '<none>';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
