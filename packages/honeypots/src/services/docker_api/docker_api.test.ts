import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, scratchDir, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import { DockerEngine, engineFacts } from './docker-api.js';
import { dockerApiService } from './docker_api.js';

let t: TestContext;
let svc: RunningService;
let plain: number;
let secure: number;
// a config dir of its own: the real engine's socket and the user's config are never touched
const DOCKER_CONFIG = scratchDir('decnet-docker-cli-');

beforeAll(async () => {
  t = makeTestContext('docker_api', { docker_version: '24.0.7' }, [{ port: 2375, proto: 'tcp' }, { port: 2376, proto: 'tcp' }], { ephemeral: true, hostname: 'build-07' });
  svc = await dockerApiService.start(t.ctx);
  [plain, secure] = svc.ports as [number, number];
});
afterAll(async () => {
  await svc.close();
  t.cleanup();
});

const docker = (port: number, ...args: string[]) =>
  run('sh', ['-c', `DOCKER_CONFIG=${DOCKER_CONFIG} DOCKER_HOST= docker -H tcp://127.0.0.1:${port} ${args.join(' ')}`], { timeoutMs: 30_000 });

describe.skipIf(!hasBinary('docker'))('docker_api with the docker CLI', () => {
  it('version and info show the persona engine', async () => {
    const v = await docker(plain, 'version', '--format', "'{{.Server.Version}} {{.Server.APIVersion}} {{.Server.GitCommit}} {{.Server.Os}}'");
    expect(v.stdout.trim()).toBe('24.0.7 1.43 311b9ff linux');
    const i = await docker(plain, 'info', '--format', "'{{.Name}} {{.OperatingSystem}} {{.Containers}}'");
    expect(i.stdout.trim()).toBe('build-07 Ubuntu 22.04.3 LTS 2');
    await t.waitFor((e) => e.event === 'request' && e['docker_op'] === 'info');
  });

  it('ps and images list the fake host', async () => {
    const ps = await docker(plain, 'ps');
    expect(ps.stdout).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND/);
    expect(ps.stdout).toContain('billing-api');
    const im = await docker(plain, 'images');
    expect(im.stdout).toMatch(/nginx\s+1\.25/);
  });

  it('run of an image it lacks: the pull fails with the registry timeout; create and pull are recorded', async () => {
    const r = await docker(plain, 'run', '--rm', '--privileged', '-v', '/:/host', 'alpine:3.19', 'chroot', '/host', 'sh', '-c', "'id'");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Unable to find image 'alpine:3.19' locally");
    expect(r.stderr).toContain('Error response from daemon: Get "https://registry-1.docker.io/v2/"');
    const c = await t.waitFor((e) => e.event === 'request' && e['docker_op'] === 'container_create');
    expect(c).toMatchObject({ image: 'alpine:3.19', privileged: true, binds: ['/:/host'] });
    expect(String(c['technique'])).toContain('host_mount');
    expect(String(c['cmd'])).toContain('chroot /host');
    await t.waitFor((e) => e.event === 'request' && e['docker_op'] === 'image_pull' && e['image'] === 'alpine:3.19');
  });

  it('run -d of an image it has: created, then the start fails in the OCI runtime', async () => {
    const r = await docker(plain, 'run', '-d', 'nginx:1.25');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('OCI runtime create failed');
    await t.waitFor((e) => e.event === 'request' && e['docker_op'] === 'container_start');
  });

  it('2376 is TLS with the internal-CA certificate and the same engine', async () => {
    // (docker --tls insists on a ca.pem in its config dir; curl -k is how a scanner asks)
    const v = await run('curl', ['-sk', `https://127.0.0.1:${secure}/version`]);
    expect((JSON.parse(v.stdout) as { Version: string }).Version).toBe('24.0.7');
    const conn = await t.waitFor((e) => e.event === 'connection' && e.tls === true);
    expect(conn['ja3_hash']).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe.skipIf(!hasBinary('curl'))('docker_api over curl', () => {
  it('/_ping answers OK with the engine headers; unknown paths are page not found', async () => {
    const r = await run('curl', ['-si', `http://127.0.0.1:${plain}/_ping`]);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r.stdout).toContain('Api-Version: 1.43\r\n');
    expect(r.stdout).toContain('Server: Docker/24.0.7 (linux)\r\n');
    expect(r.stdout).not.toMatch(/Keep-Alive/i);
    expect(r.stdout.endsWith('\r\n\r\nOK')).toBe(true);
    const nf = await run('curl', ['-s', `http://127.0.0.1:${plain}/v1.43/nope`]);
    expect(nf.stdout.trim()).toBe('{"message":"page not found"}');
    const tooNew = await run('curl', ['-s', `http://127.0.0.1:${plain}/v1.99/version`]);
    expect(tooNew.stdout).toContain('client version 1.99 is too new. Maximum supported API version is 1.43');
  });
});

describe.skipIf(!hasBinary('nmap'))('docker_api with nmap', () => {
  it('-sV names the engine and its API on both ports; docker-version reads /version', async () => {
    const r = await run('nmap', ['-sV', '-Pn', '-n', '-p', `${plain},${secure}`, '--script', 'docker-version', '127.0.0.1'], { timeoutMs: 120_000 });
    expect(r.stdout).toMatch(new RegExp(`${plain}/tcp\\s+open\\s+docker\\s+Docker 24\\.0\\.7 \\(API 1\\.43\\)`));
    expect(r.stdout).toMatch(new RegExp(`${secure}/tcp\\s+open\\s+ssl/docker\\s+Docker 24\\.0\\.7 \\(API 1\\.43\\)`));
    expect(r.stdout).toContain('GoVersion: go1.20.10');
  }, 130_000);
});

describe('docker engine core', () => {
  it('version facts by release', () => {
    expect(engineFacts('24.0.7').api).toBe('1.43');
    expect(engineFacts('20.10.24').api).toBe('1.41');
    expect(engineFacts('27.0.3').api).toBe('1.46');
    expect(engineFacts('garbage').api).toBe('1.43');
  });

  it('fuzz: arbitrary methods, paths and bodies never throw', () => {
    const e = new DockerEngine({ version: '24.0.7', hostname: 'h', kernel: 'k', operatingSystem: 'Ubuntu 22.04.3 LTS', ncpu: 4, memTotal: 1, seed: 's' });
    const seg = fc.oneof(fc.constantFrom('v1.43', 'containers', 'images', 'exec', 'create', 'start', 'json', 'attach', '_ping', 'info', 'version'), fc.string({ maxLength: 12 }));
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '')),
      fc.record({ Image: fc.string(), Cmd: fc.array(fc.string()), HostConfig: fc.record({ Binds: fc.array(fc.string()), Privileged: fc.boolean() }) }).map((v) => Buffer.from(JSON.stringify(v))),
    );
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'PUT', 'x'), fc.array(seg, { maxLength: 5 }), body, (method, parts, b) => {
        const r = e.handle({ method, path: `/${parts.join('/')}`, query: new URLSearchParams('fromImage=x&tag=y'), body: b });
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(JSON.stringify(r.json ?? r.text ?? '').length).toBeLessThan(20_000);
      }),
      { numRuns: 10_000, seed: 2375 },
    );
  });
});
