/**
 * Random bytes over real sockets against every service of this family: the
 * service must survive (no unhandled error, still accepting and greeting) and
 * must not answer with unbounded output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTestContext } from '../runtime/test-context.js';
import type { ServiceModule } from '../runtime/types.js';
import { RawClient } from '../runtime/test-util.js';
import { httpService } from './http/http.js';
import { mysqlService } from './mysql/mysql.js';
import { pop3Service } from './pop3/pop3.js';
import { redisService } from './redis/redis.js';
import { smtpService } from './smtp/smtp.js';
import { vncService } from './vnc/vnc.js';

const SERVICES: [string, ServiceModule, RegExp | null][] = [
  ['http', httpService, null],
  ['smtp', smtpService, /^220 /],
  ['pop3', pop3Service, /^\+OK /],
  ['redis', redisService, null],
  ['mysql', mysqlService, /mysql_native_password/],
  ['vnc', vncService, /^RFB 003\.008\n/],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('services survive random bytes', () => {
  for (const [name, mod, greeting] of SERVICES) {
    it(name, async () => {
      const t = makeTestContext(name);
      const svc = await mod.start(t.ctx);
      const port = svc.ports[0]!;
      const inputs = fc.sample(fc.array(fc.uint8Array({ minLength: 1, maxLength: 2048 }), { minLength: 1, maxLength: 6 }), 25);
      try {
        for (const chunks of inputs) {
          const c = await RawClient.connect(port);
          for (const ch of chunks) c.send(Buffer.from(ch));
          await sleep(15);
          expect(c.bytes.length).toBeLessThan(256 * 1024);
          c.close();
        }
        // still alive and greeting properly
        const c = await RawClient.connect(port);
        if (greeting) await c.waitFor(greeting);
        else if (name === 'redis') {
          c.send('PING\r\n');
          await c.waitFor(/\+PONG/);
        } else {
          c.send('GET / HTTP/1.0\r\n\r\n');
          await c.waitFor(/^HTTP\/1.1 200/);
        }
        c.close();
        expect(t.logs.filter((l) => /threw|failed/.test(l.msg))).toEqual([]);
      } finally {
        await svc.close();
        t.cleanup();
      }
    });
  }
});
