/**
 * Fault: bad input. fast-check generates manifests, valid ones and random mutations of
 * them (wrong types, out-of-subnet / gateway / taken IPs, duplicate names, unknown
 * services, archetypes and OS, port collisions, huge strings, a changed fleet network,
 * YAML garbage), and each is applied for real next to a small running fleet. Every one
 * is either applied correctly (its deckies Running, the rest untouched; then deleted) or
 * refused with a clean error (no stack trace), and a refusal changes nothing: container
 * ids, labels and states and the fleet network are compared before and after.
 * Main engine, fleet ef-bad (10.238.5.0/24), host ef-bad.
 * DECNET_FAULTS_RUNS sets the number of manifests (default 40); DECNET_FAULTS_SEED replays one seed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../lib/cli.js';
import { API_VERSION, cleanupFleet, ctlFor, deckyDoc, fleetDoc, manifestFile, show, snapshot, yamlDocs } from '../lib/apply-fixtures.js';
import { checked, cleanup, stateDir, step } from '../lib/faults.js';

const HOST = 'ef-bad';
const F = 'ef-bad';
const SUBNET = '10.238.5.0/24';
const ctl = ctlFor(HOST, { DECNET_STATE_DIR: stateDir('ef-bad') });
const FLEET = fleetDoc(F, SUBNET, '10.238.5.1');
const RESIDENT = { name: 'ef-bad-resident', fleet: F, ip: '10.238.5.10', services: ['ssh'] };
const RUNS = Number(process.env['DECNET_FAULTS_RUNS'] ?? 40);
const SEED = process.env['DECNET_FAULTS_SEED'] ? Number(process.env['DECNET_FAULTS_SEED']) : Date.now() % 2 ** 31;

type Doc = Record<string, unknown> & { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
const SERVICES = ['ssh', 'http', 'ftp', 'smtp', 'redis', 'mysql', 'telnet', 'pop3', 'smb', 'rdp', 'https', 'snmp', 'vnc'];

/** A valid submission: the fleet and 1-2 new deckies with free IPs and distinct names. */
const validDocs = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    tag: fc.stringMatching(/^[a-z0-9]{3}$/),
    services: fc.array(fc.uniqueArray(fc.constantFrom('ssh', 'http', 'ftp', 'redis', 'telnet'), { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 2 }),
    octet: fc.integer({ min: 20, max: 200 }),
  })
  .map(({ n, tag, services, octet }) => [
    FLEET as Doc,
    ...Array.from({ length: n }, (_, i) => deckyDoc({ name: `ef-bad-${tag}-${i}`, fleet: F, ip: `10.238.5.${octet + i}`, services: services[i]! }) as Doc),
  ]);

type Mutation = { what: string; apply: (docs: Doc[]) => Doc[] | string };
// the decky document, also after an earlier mutation renamed its kind (seed 1004143121: 'unknown kind' then a spec mutation)
const deckyOf = (docs: Doc[]) => docs.find((d) => d.kind === 'Decky') ?? docs.find((d) => d.kind !== 'Fleet') ?? docs[docs.length - 1]!;
const setSpec = (what: string, key: string, value: unknown): Mutation => ({ what, apply: (docs) => (Object.assign(deckyOf(docs).spec, { [key]: value }), docs) });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    setSpec('services is a string', 'services', 'ssh'),
    setSpec('services empty', 'services', []),
    setSpec('ip is a number', 'ip', 12345),
    setSpec('ip outside the subnet', 'ip', '10.99.0.5'),
    setSpec('ip is the gateway', 'ip', '10.238.5.1'),
    setSpec('ip is the broadcast address', 'ip', '10.238.5.255'),
    setSpec('ip is the network address', 'ip', '10.238.5.0'),
    setSpec("ip taken by the resident decky", 'ip', RESIDENT.ip),
    setSpec('ip not an address', 'ip', '10.238.5.300'),
    setSpec('unknown service', 'services', ['ssh', 'gopher']),
    setSpec('port collision http+https', 'services', ['http', 'https']),
    setSpec('port collision smtp+smtp_relay', 'services', ['smtp', 'smtp_relay']),
    setSpec('unknown archetype', 'archetype', 'mainframe'),
    setSpec('unknown nmapOS', 'nmapOS', 'plan9'),
    setSpec('unknown distro', 'distro', 'gentoo'),
    setSpec('unknown fleet', 'fleet', 'ef-bad-nope'),
    setSpec('unknown spec key', 'flavour', 'vanilla'),
    setSpec('serviceConfig for a service it does not run', 'serviceConfig', { mysql: { mysql_version: '8' } }),
    setSpec('unknown serviceConfig key', 'serviceConfig', { ssh: { colour: 'blue' } }),
    setSpec('int config not an int', 'serviceConfig', { http: { response_code: 'lots' } }),
    setSpec('enum config out of range', 'serviceConfig', { http: { fake_app: 'sharepoint' } }),
    setSpec('malformed b64 textarea', 'serviceConfig', { http: { custom_body: 'b64:@@@' } }),
    setSpec('mutateInterval not a duration', 'mutateInterval', 'often'),
    setSpec('huge hostname', 'hostname', 'h'.repeat(70_000)),
    { what: 'duplicate decky names', apply: (docs) => [...docs, { ...deckyOf(docs), spec: { ...deckyOf(docs).spec, ip: '10.238.5.250' } }] },
    { what: 'two deckies on one IP', apply: (docs) => [...docs, deckyDoc({ name: 'ef-bad-twin', fleet: F, ip: String(deckyOf(docs).spec['ip']), services: ['ssh'] }) as Doc] },
    { what: 'name not a DNS label', apply: (docs) => (deckyOf(docs).metadata.name = 'Bad_Name!', docs) },
    { what: 'name too long', apply: (docs) => (deckyOf(docs).metadata.name = `ef-bad-${'x'.repeat(70)}`, docs) },
    { what: 'fleet network changed', apply: (docs) => docs.map((d) => (d.kind === 'Fleet' ? (fleetDoc(F, '10.238.7.0/24', '10.238.7.1') as Doc) : d)) },
    { what: 'wrong apiVersion', apply: (docs) => (deckyOf(docs)['apiVersion'] = 'decnet.io/v9', docs) },
    { what: 'unknown kind', apply: (docs) => (deckyOf(docs).kind = 'Deck', docs) },
    { what: 'metadata missing', apply: (docs) => (delete (deckyOf(docs) as Record<string, unknown>)['metadata'], docs) },
    { what: 'DeckySet with replicas as a string', apply: (docs) => [...docs, { apiVersion: API_VERSION, kind: 'DeckySet', metadata: { name: 'ef-bad-set' }, spec: { fleet: F, replicas: 'ten', template: { services: ['ssh'] } } } as Doc] },
    { what: 'DeckySet with 10000 replicas', apply: (docs) => [...docs, { apiVersion: API_VERSION, kind: 'DeckySet', metadata: { name: 'ef-bad-set' }, spec: { fleet: F, replicas: 10_000, template: { services: ['ssh'] } } } as Doc] },
    { what: 'YAML: tab indentation', apply: (docs) => yamlDocs(docs).replace(/\n {2}/g, '\n\t') },
    { what: 'YAML: unclosed flow sequence', apply: (docs) => `${yamlDocs(docs)}---\napiVersion: ${API_VERSION}\nkind: Decky\nmetadata: { name: ef-bad-x\n` },
    { what: 'YAML: a scalar document', apply: (docs) => `${yamlDocs(docs)}---\njust a string\n` },
  ),
  fc.string({ minLength: 1, maxLength: 200 }).map<Mutation>((s) => ({ what: `YAML garbage ${JSON.stringify(s.slice(0, 20))}`, apply: () => s })),
  fc.constantFrom('name', 'fleet', 'ip', 'services', 'hostname', 'nmapOS').chain((key) =>
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }), fc.string({ maxLength: 30 })).map<Mutation>((v) => setSpec(`${key} = ${JSON.stringify(v).slice(0, 40)}`, key, v)),
  ),
);

const submission = fc.record({ docs: validDocs, mutations: fc.oneof({ weight: 1, arbitrary: fc.constant([] as Mutation[]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 2 }) }) });

/** containers of the fleet (any host) with ids, labels, states; plus the fleet network's id and labels */
async function engineState(): Promise<string> {
  const ids = (await docker('network', 'ls', '-q', '--no-trunc', '--filter', `label=com.decnet.fleet=${F}`)).split('\n').filter(Boolean);
  const nets = ids.length === 0 ? [] : (JSON.parse(await docker('network', 'inspect', ...ids)) as Array<{ Id: string; Name: string; Labels: Record<string, string> }>);
  const net = nets.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels }));
  return JSON.stringify({ containers: await snapshot(`com.decnet.fleet=${F}`), net });
}

describe('fault: generated and mutated manifests (ef-bad)', () => {
  beforeAll(async () => {
    await cleanupFleet(ctl, F, HOST);
    const r = await ctl(['apply', '-f', manifestFile([FLEET, deckyDoc(RESIDENT)])]);
    expect(r.code, show(r)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await cleanup(`fleet ${F} on the main engine`, () => cleanupFleet(ctl, F, HOST));
  }, 120_000);

  it(`${RUNS} manifests: applied correctly or refused with no change (seed ${SEED})`, async () => {
    const tally = { applied: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(submission, async ({ docs, mutations }) => {
        let body: Doc[] | string = structuredClone(docs);
        for (const m of mutations) body = typeof body === 'string' ? body : m.apply(body);
        const what = mutations.map((m) => m.what).join(' + ') || 'valid';
        const text = typeof body === 'string' ? body : yamlDocs(body);
        const before = await engineState();
        const r = await ctl(['apply', '-f', manifestFile(text), '--timeout', '90s']);
        await step(`[${what}] no crash`, async () => {
          expect(r.stderr, show(r)).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n|TypeError|ReferenceError|Unhandled|EPIPE/);
          expect([0, 1, 2], show(r)).toContain(r.code);
        });
        if (r.code === 0) {
          tally.applied++;
          const had = new Set(Object.values((JSON.parse(before) as { containers: Record<string, { labels: Record<string, string> }> }).containers).map((c) => c.labels['com.decnet.decky']));
          const now = new Set(Object.values(await snapshot(`com.decnet.fleet=${F}`)).map((c) => c.labels['com.decnet.decky']));
          const names = [...now].filter((n): n is string => n !== undefined && !had.has(n));
          if (typeof body !== 'string') expect(names.sort(), show(r)).toEqual(body.filter((d) => d.kind === 'Decky').map((d) => d.metadata.name).sort());
          await step(`[${what}] applied: its deckies Running, the resident untouched`, async () => {
            const g = await ctl(['get', 'deckies', '-o', 'json']);
            const rows = JSON.parse(g.stdout) as Array<{ name: string; phase: string }>;
            for (const n of names) expect(rows.find((x) => x.name === n)?.phase, n).toBe('Running');
            const b = JSON.parse(before) as { containers: Record<string, { id: string }> };
            const now = await snapshot(`com.decnet.fleet=${F}`);
            for (const n of [RESIDENT.name, `${RESIDENT.name}-ssh`]) expect(now[n]?.id, n).toBe(b.containers[n]?.id);
          });
          await step(`[${what}] delete what it made; back to the state before`, async () => {
            if (names.length > 0) {
              const d = await ctl(['delete', 'decky', ...names]);
              expect(d.code, show(d)).toBe(0);
            }
            expect(await engineState()).toBe(before);
          });
        } else {
          tally.refused++;
          const reason = /error: ([A-Za-z]+)?/.exec(r.stderr)?.[0] ?? r.stderr.split('\n').find((l) => /conflict|Conflict|invalid|Invalid/.test(l))?.slice(0, 40) ?? '?';
          await step(`[${what}] refused with a message, engine unchanged`, async () => {
            expect(r.stderr.trim(), show(r)).not.toBe('');
            expect(await engineState(), `refusal changed the engine (${reason})`).toBe(before);
          });
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, interruptAfterTimeLimit: 170_000 }, // bounded on a loaded machine: fewer runs, never a longer test
    );
    checked(`${tally.applied + tally.refused} of ${RUNS} manifests (seed ${SEED}; the run stops after 170 s): ${tally.applied} applied (deckies Running, resident untouched, then deleted back to the same state), ${tally.refused} refused with a clean error and no change to container ids, labels, states or the network`);
  }, 600_000);
});
