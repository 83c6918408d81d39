import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, scratchDir, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, run, RawClient } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { forbidden, goJson, handleK8s, requestInfo, versionInfo } from './k8s-api.js';
import { k8sService } from './k8s.js';

const V = versionInfo('v1.28.6').info;
const ports = [
  { port: 6443, proto: 'tcp' as const },
  { port: 8080, proto: 'tcp' as const },
];

describe('k8s pure core', () => {
  it('/version has the release facts', () => {
    expect(V).toEqual({
      major: '1',
      minor: '28',
      gitVersion: 'v1.28.6',
      gitCommit: 'be3af46a4654bdf05b4838fe94e95ec8c165660c',
      gitTreeState: 'clean',
      buildDate: '2024-01-17T13:39:00Z',
      goVersion: 'go1.20.13',
      compiler: 'gc',
      platform: 'linux/amd64',
    });
    expect(versionInfo('garbage').error).toBeDefined();
  });

  const msg = (method: string, url: string) => {
    const q = url.indexOf('?');
    return forbidden(requestInfo(method, q < 0 ? url : url.slice(0, q), new URLSearchParams(q < 0 ? '' : url.slice(q + 1))), 'system:anonymous').message;
  };
  it('forbidden messages as RBAC writes them', () => {
    expect(msg('GET', '/api/v1/namespaces/default/pods')).toBe('pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
    expect(msg('GET', '/api/v1/nodes')).toBe('nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope');
    expect(msg('GET', '/api/v1/namespaces/kube-system/secrets/admin')).toBe('secrets "admin" is forbidden: User "system:anonymous" cannot get resource "secrets" in API group "" in the namespace "kube-system"');
    expect(msg('POST', '/apis/apps/v1/namespaces/default/deployments')).toBe('deployments.apps is forbidden: User "system:anonymous" cannot create resource "deployments" in API group "apps" in the namespace "default"');
    expect(msg('DELETE', '/api/v1/namespaces/default/pods/x')).toBe('pods "x" is forbidden: User "system:anonymous" cannot delete resource "pods" in API group "" in the namespace "default"');
    expect(msg('DELETE', '/api/v1/namespaces/default/pods')).toContain('cannot deletecollection resource "pods"');
    expect(msg('GET', '/api/v1/namespaces/default/pods?watch=true')).toContain('cannot watch resource "pods"');
    expect(msg('GET', '/api/v1/watch/namespaces/default/pods')).toContain('cannot watch resource "pods"');
    expect(msg('POST', '/api/v1/namespaces/default/pods/web-0/exec?command=id')).toBe(
      'pods "web-0" is forbidden: User "system:anonymous" cannot create resource "pods/exec" in API group "" in the namespace "default"',
    );
    expect(msg('GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-0')).toBe('pods "web-0" is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
    expect(msg('GET', '/api/v1/namespaces/default')).toBe('namespaces "default" is forbidden: User "system:anonymous" cannot get resource "namespaces" in API group "" in the namespace "default"');
    expect(msg('PUT', '/api/v1/namespaces/x/finalize')).toBe('namespaces "x" is forbidden: User "system:anonymous" cannot update resource "namespaces/finalize" in API group "" in the namespace "x"');
    expect(msg('GET', '/')).toBe('forbidden: User "system:anonymous" cannot get path "/"');
    expect(msg('GET', '/metrics')).toBe('forbidden: User "system:anonymous" cannot get path "/metrics"');
  });

  it('401 for bearer tokens, exact JSON', () => {
    const r = handleK8s({ method: 'GET', url: '/api/v1/pods', headers: { authorization: 'Bearer x', 'user-agent': 'kubectl/v1.28.6' } }, V, '1.2.3.4:6443');
    expect(r.status).toBe(401);
    expect(r.body).toBe('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}\n');
    const f = handleK8s({ method: 'GET', url: '/api/v1/namespaces/default/pods', headers: {} }, V, '1.2.3.4:6443');
    expect(f.body).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \\"system:anonymous\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"default\\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}\n',
    );
    expect(goJson({ a: '<&>' })).toBe('{"a":"\\u003c\\u0026\\u003e"}');
  });

  it('aggregated discovery (v2beta1) when asked, legacy otherwise', () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const a = handleK8s({ method: 'GET', url: '/apis', headers: { accept } }, V, '127.0.0.1:6443');
    expect(a.contentType).toBe('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    const doc = JSON.parse(a.body) as { kind: string; items: { metadata: { name: string } }[] };
    expect(doc.kind).toBe('APIGroupDiscoveryList');
    expect(doc.items.map((i) => i.metadata.name)).toContain('apps');
    const core = JSON.parse(handleK8s({ method: 'GET', url: '/api', headers: { accept } }, V, '').body) as { items: { versions: { resources: { resource: string; subresources?: { subresource: string }[] }[] }[] }[] };
    const pods = core.items[0]!.versions[0]!.resources.find((x) => x.resource === 'pods')!;
    expect(pods.subresources!.map((x) => x.subresource)).toContain('exec');
    const l = handleK8s({ method: 'GET', url: '/api', headers: { accept: 'application/json' } }, V, '10.0.0.5:6443');
    expect(l.body).toBe('{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"10.0.0.5:6443"}]}\n');
  });

  it('request router never throws (fuzz)', () => {
    const seg = fc.oneof(fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'default', 'pods', 'exec', 'watch', 'proxy', 'status', 'finalize', '', '%2F', '%zz', '..', 'apps'), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND'),
        fc.array(seg, { maxLength: 10 }),
        fc.string({ maxLength: 40 }),
        fc.option(fc.string({ maxLength: 30 })),
        (method, parts, query, auth) => {
          const r = handleK8s({ method, url: `/${parts.join('/')}?${query}`, headers: auth === null ? {} : { authorization: auth } }, V, '127.0.0.1:6443');
          expect([200, 400, 401, 403, 404]).toContain(r.status);
          if (!r.raw400) JSON.parse(r.body.startsWith('{') ? r.body : '{}');
        },
      ),
      { seed: 6443, numRuns: 20000 },
    );
  });
});

describe('k8s service', () => {
  let t: TestContext;
  let svc: RunningService;
  let tlsPort = 0;
  let plainPort = 0;
  let kubeconfig = '';
  beforeAll(async () => {
    t = makeTestContext('k8s', { k8s_version: 'v1.28.6' }, ports, { ephemeral: true, hostname: 'cp-01' });
    svc = await k8sService.start(t.ctx);
    [tlsPort, plainPort] = svc.ports as [number, number];
    // kubectl prompts for a user name when its kubeconfig cannot identify a user; a Basic
    // login (which kube-apiserver no longer authenticates: the caller stays anonymous) avoids it
    kubeconfig = join(scratchDir('k8s-kc-'), 'config');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: u\n  user: {username: admin, password: admin}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n',
    );
  });
  afterAll(async () => {
    await svc.close();
  });

  const kubectl = (args: string[], server = `https://127.0.0.1:${tlsPort}`, kc = kubeconfig) =>
    run('kubectl', ['--server', server, ...(server.startsWith('https') ? ['--insecure-skip-tls-verify'] : []), '--kubeconfig', kc, '--request-timeout', '10s', ...args], { timeoutMs: 30_000 });

  it.skipIf(!hasBinary('kubectl'))('kubectl version shows the server version', async () => {
    const r = await kubectl(['version']);
    expect(r.stdout).toContain('Server Version: v1.28.6');
  }, 40_000);

  it.skipIf(!hasBinary('kubectl'))('kubectl get pods is forbidden for system:anonymous', async () => {
    const r = await kubectl(['get', 'pods']);
    expect(r.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
    const ev = await t.waitFor((e) => e.event === 'request' && e['k8s_resource'] === 'pods' && e['k8s_verb'] === 'list');
    expect(ev['k8s_namespace']).toBe('default');
    expect(ev['status']).toBe(403);
    // kubectl took the aggregated discovery document: no per-group-version lists were needed
    expect(t.events.some((e) => e.event === 'request' && String(e['path']).startsWith('/apis/apps/v1'))).toBe(false);
  });

  it.skipIf(!hasBinary('kubectl'))('kubectl on the plain port (8080)', async () => {
    const r = await kubectl(['get', 'nodes'], `http://127.0.0.1:${plainPort}`);
    expect(r.stderr).toContain('Error from server (Forbidden): nodes is forbidden: User "system:anonymous" cannot list resource "nodes" in API group "" at the cluster scope');
  });

  it.skipIf(!hasBinary('kubectl'))('kubectl --token: Unauthorized, token captured', async () => {
    const r = await kubectl(['--token', 'x', 'get', 'pods'], undefined, '/dev/null');
    // kubectl >= 1.26 reports the 401 of its discovery request by its generic text; older ones print (Unauthorized)
    expect(r.stderr).toMatch(/error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
    const v = await kubectl(['--token', 'x', 'get', '--raw', '/api/v1/namespaces/default/pods'], undefined, '/dev/null');
    expect(v.stderr).toMatch(/error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.secret_kind === 'bearer_token');
    expect(ev.secret).toBe('x');
  });

  it.skipIf(!hasBinary('kubectl'))('kubectl exec is forbidden', async () => {
    const r = await kubectl(['exec', 'web-0', '--', 'id']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Error from server \(Forbidden\): pods "web-0" is forbidden: User "system:anonymous" cannot (get|create) resource "pods(\/exec)?" in API group "" in the namespace "default"/);
  });

  it.skipIf(!hasBinary('openssl') || !hasBinary('kubectl'))('client certificates are recorded and refused', async () => {
    const dir = scratchDir('k8s-cert-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/O=system:masters/CN=kubernetes-admin'], { stdio: 'ignore' });
    const r = await kubectl(['--client-certificate', join(dir, 'c.pem'), '--client-key', join(dir, 'k.pem'), 'get', 'pods'], undefined, '/dev/null');
    expect(r.stderr).toMatch(/error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.secret_kind === 'x509_client_cert');
    expect(ev.principal).toBe('kubernetes-admin');
    expect(ev['k8s_groups']).toEqual(['system:masters']);
    expect(String(ev['cert_fingerprint256'])).toMatch(/^[0-9A-F:]{95}$/);
  });

  it.skipIf(!hasBinary('curl'))('curl -k sees the apiserver headers and pretty JSON', async () => {
    const r = await run('curl', ['-sk', '-i', `https://127.0.0.1:${tlsPort}/api/v1/namespaces/kube-system/secrets`]);
    const [head, body] = r.stdout.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\nAudit-Id: [0-9a-f-]{36}\r\nCache-Control: no-cache, private\r\nContent-Type: application\/json\r\nX-Content-Type-Options: nosniff\r\nX-Kubernetes-Pf-Flowschema-Uid: [0-9a-f-]{36}\r\nX-Kubernetes-Pf-Prioritylevel-Uid: [0-9a-f-]{36}\r\nDate: .* GMT\r\nContent-Length: \d+$/);
    expect(body).toBe(
      '{\n  "kind": "Status",\n  "apiVersion": "v1",\n  "metadata": {},\n  "status": "Failure",\n  "message": "secrets is forbidden: User \\"system:anonymous\\" cannot list resource \\"secrets\\" in API group \\"\\" in the namespace \\"kube-system\\"",\n  "reason": "Forbidden",\n  "details": {\n    "kind": "secrets"\n  },\n  "code": 403\n}',
    );
    const h = await run('curl', ['-sk', `https://127.0.0.1:${tlsPort}/healthz`]);
    expect(h.stdout).toBe('ok');
    const v = await run('curl', ['-sk', `http://127.0.0.1:${plainPort}/version`]);
    expect(JSON.parse(v.stdout)).toEqual(V);
  });

  it('serves the kubeadm apiserver certificate with TLS >= 1.2', async () => {
    const cert = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate());
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(cert.subject.CN).toBe('kube-apiserver');
    expect(cert.issuer.CN).toBe('kubernetes');
    expect(cert.subjectaltname).toContain('DNS:kubernetes.default.svc.cluster.local');
  });

  it('Go-style keep-alive: no Connection header; garbage gets Go 400', async () => {
    const c = await RawClient.connect(plainPort);
    c.send('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await c.waitFor(/\r\n\r\nok/);
    expect(text).not.toMatch(/Connection:|Keep-Alive:/i);
    c.close();
    const g = await RawClient.connect(plainPort);
    g.send('\x01\x02 garbage\r\n\r\n');
    await g.waitClosed();
    expect(g.text).toBe('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
  });

  it('survives random requests over the socket (fuzz)', async () => {
    const line = fc.tuple(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'G\x00T'),
      fc.array(fc.oneof(fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'pods', 'exec', 'watch', '%', '%ff', '..'), fc.string({ maxLength: 8 })), { maxLength: 8 }),
      fc.constantFrom('', 'Authorization: Bearer abc\r\n', 'Authorization: Basic Og==\r\n', 'Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.eA\r\n', 'Content-Length: 5\r\n\r\nhello'),
    );
    const inputs = fc.sample(line, { seed: 8080, numRuns: 150 });
    for (const [m, parts, extra] of inputs) {
      const c = await RawClient.connect(plainPort);
      c.send(`${m} /${parts.map(encodeURIComponent).join('/')} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
      await c.waitFor(/^HTTP\/1\.1 \d{3} /, 3000).catch(() => undefined);
      c.close();
    }
    const ok = await run('curl', ['-s', `http://127.0.0.1:${plainPort}/readyz`]);
    expect(ok.stdout).toBe('ok');
    expect(t.logs.filter((l) => /threw|failed/.test(l.msg))).toEqual([]);
  }, 60_000);

  it.skipIf(!hasBinary('nmap'))('nmap -sV on the TLS port', async () => {
    const r = await run('nmap', ['-sV', '-p', String(tlsPort), '127.0.0.1', '-Pn'], { timeoutMs: 180_000 });
    console.log(r.stdout);
    expect(r.stdout).toMatch(new RegExp(`${tlsPort}/tcp\\s+open\\s+ssl/`));
  }, 200_000);
});
