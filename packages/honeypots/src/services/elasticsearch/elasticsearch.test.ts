import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, run, RawClient } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { Dbl, esJson, esVersion, handleEs, newState } from './es-api.js';
import { elasticsearchService } from './elasticsearch.js';

const ports = [{ port: 9200, proto: 'tcp' as const }];
const q = (s = '') => new URLSearchParams(s);
const req = (method: string, path: string, body = '', query = '') => ({ method, path, query: q(query), body: Buffer.from(body) });

describe('elasticsearch pure core', () => {
  it('pretty prints like Jackson', () => {
    expect(esJson({ a: 1, b: [], c: {}, d: [{ x: 'y' }], e: new Dbl(50) }, true)).toBe(
      '{\n  "a" : 1,\n  "b" : [ ],\n  "c" : { },\n  "d" : [\n    {\n      "x" : "y"\n    }\n  ],\n  "e" : 50.0\n}\n',
    );
    expect(esJson({ a: [1, 2], e: new Dbl(1.5) }, false)).toBe('{"a":[1,2],"e":1.5}');
  });
  it('version facts', () => {
    const v = esVersion('8.12.2');
    expect(v.lucene_version).toBe('9.9.2');
    expect(v.build_hash).toBe('48a287ab9497e852de30327444b0809e55d46466');
    expect(esVersion('7.17.18').lucene_version).toBe('8.11.1');
    expect(esVersion('7.17.18').minimum_wire_compatibility_version).toBe('6.8.0');
  });
  it('banner is pretty, cluster uuid stable per decky', () => {
    const st = newState('d1', 'es01', 'prod', esVersion('8.12.2'));
    const r = handleEs(st, req('GET', '/'));
    expect(r.body).toMatch(/^\{\n {2}"name" : "es01",\n {2}"cluster_name" : "prod",\n {2}"cluster_uuid" : "[\w-]{22}",\n {2}"version" : \{\n {4}"number" : "8\.12\.2",/);
    expect(r.body.endsWith('  "tagline" : "You Know, for Search"\n}\n')).toBe(true);
    expect(newState('d1', 'x', 'y', esVersion('8.12.2')).clusterUuid).toBe(st.clusterUuid);
    expect(newState('d2', 'x', 'y', esVersion('8.12.2')).clusterUuid).not.toBe(st.clusterUuid);
  });
  it('unknown path, wrong method', () => {
    const st = newState('d', 'h', 'c', esVersion('8.12.2'));
    expect(handleEs(st, req('GET', '/a/b/c/d'))).toMatchObject({ status: 400, body: '{"error":"no handler found for uri [/a/b/c/d] and method [GET]"}' });
    expect(handleEs(st, req('DELETE', '/'))).toMatchObject({ status: 405 });
  });
  it('tags deletes, ransom notes and script queries', () => {
    const st = newState('d', 'h', 'c', esVersion('8.12.2'));
    expect(handleEs(st, req('DELETE', '/customers')).fields).toMatchObject({ technique: 'index_delete', es_index: 'customers' });
    expect(handleEs(st, req('GET', '/_cat/indices')).body).not.toContain('customers');
    expect(handleEs(st, req('DELETE', '/customers')).status).toBe(404);
    const w = handleEs(st, req('POST', '/read_me/_doc', '{"message":"All your data is backed up. Send 0.05 Bitcoin to bc1q..."}'));
    expect(w.status).toBe(201);
    expect(w.fields).toMatchObject({ technique: 'ransom_note', es_index: 'read_me' });
    expect(handleEs(st, req('GET', '/_cat/indices')).body).toContain('read_me');
    const s = handleEs(st, req('POST', '/_search', '{"query":{"script":{"script":{"source":"java.lang.Runtime.getRuntime().exec(\\"id\\")"}}}}'));
    expect(s.fields).toMatchObject({ technique: 'script_query' });
    expect(JSON.parse(s.body).hits.hits.length).toBeGreaterThan(0);
  });
  it('fuzz: never throws, always JSON or text', () => {
    const st = newState('d', 'h', 'c', esVersion('8.12.2'));
    const seg = fc.oneof(fc.constantFrom('_search', '_doc', '_cat', 'indices', 'customers', '_all', '*', 'logs-*', '_bulk', '_nodes', '_cluster', 'health', '%zz', '..', 'A'), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'),
        fc.array(seg, { maxLength: 8 }),
        fc.string({ maxLength: 20 }),
        fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ maxLength: 60 }), fc.constant('{"a":'.repeat(100))),
        (m, segs, qs, body) => {
          const r = handleEs(st, req(m, `/${segs.join('/')}`, body, qs));
          expect(r.status).toBeGreaterThanOrEqual(200);
          if (r.contentType.startsWith('application/json')) JSON.parse(r.body);
        },
      ),
      { seed: 9200, numRuns: 20000 },
    );
  });
});

describe('elasticsearch service', () => {
  let t: TestContext;
  let svc: RunningService;
  let port = 0;
  beforeAll(async () => {
    t = makeTestContext('elasticsearch', { es_version: '8.12.2', cluster_name: 'prod-search' }, ports, { ephemeral: true, hostname: 'es-node-01' });
    svc = await elasticsearchService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
  });

  it.skipIf(!hasBinary('curl'))('curl / and /_cat/indices?v', async () => {
    const r = await run('curl', ['-s', `127.0.0.1:${port}/`]);
    expect(r.stdout).toContain('"name" : "es-node-01"');
    expect(r.stdout).toContain('"cluster_name" : "prod-search"');
    expect(r.stdout).toContain('"lucene_version" : "9.9.2"');
    const h = await run('curl', ['-si', `127.0.0.1:${port}/`]);
    expect(h.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application\/json\r\ncontent-length: \d+\r\n\r\n\{/);
    const c = await run('curl', ['-s', `127.0.0.1:${port}/_cat/indices?v`]);
    expect(c.stdout.split('\n')[0]).toMatch(/^health status index +uuid +pri rep docs\.count docs\.deleted store\.size pri\.store\.size dataset\.size$/);
    expect(c.stdout).toMatch(/yellow open +logs-2026\.12 /);
    const d = await run('curl', ['-s', '-XDELETE', `127.0.0.1:${port}/payments?pretty`]);
    expect(d.stdout).toBe('{\n  "acknowledged" : true\n}\n');
    expect(t.events.some((e) => e.event === 'request' && (e as Record<string, unknown>)['technique'] === 'index_delete')).toBe(true);
  });

  it('HTTP/1.0 is answered as HTTP/1.0 with Netty framing', async () => {
    const c = await RawClient.connect(port);
    c.socket.write('GET / HTTP/1.0\r\n\r\n');
    const txt = await c.waitFor(/You Know, for Search"\n\}\n/);
    await c.waitClosed();
    expect(String(txt)).toMatch(/^HTTP\/1\.0 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application\/json\r\ncontent-length: (\d+)\r\n\r\n\{\n/);
  });

  it.skipIf(!hasBinary('nmap'))('nmap -sV', async () => {
    const r = await run('nmap', ['-sV', '-p', String(port), '127.0.0.1', '-Pn'], { timeoutMs: 180_000 });
    console.log(r.stdout);
    expect(r.stdout).toMatch(/open/);
  }, 200_000);
});

describe('elasticsearch 7.10.2 (pre X-elastic-product) matches nmap', () => {
  let svc: RunningService;
  let port = 0;
  beforeAll(async () => {
    const t = makeTestContext('elasticsearch', { es_version: '7.10.2', cluster_name: 'elasticsearch' }, ports, { ephemeral: true, hostname: 'es7' });
    svc = await elasticsearchService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
  });
  it.skipIf(!hasBinary('nmap'))('nmap -sV prints Elasticsearch REST API', async () => {
    const r = await run('nmap', ['-sV', '-p', String(port), '127.0.0.1', '-Pn'], { timeoutMs: 180_000 });
    console.log(r.stdout);
    expect(r.stdout).toMatch(/Elasticsearch REST API 7\.10\.2/);
  }, 200_000);
});
