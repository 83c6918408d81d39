import { describe, expect, it } from 'vitest';
import { parseRegistryUrl, redactUrl } from './url.js';

describe('registry URLs', () => {
  it('parses user, password, port, db and TLS', () => {
    const p = parseRegistryUrl('rediss://decnet:s3cr%40t@redis.example:6380/2');
    expect(p).toMatchObject({ host: 'redis.example', port: 6380, db: 2, tls: true, username: 'decnet', password: 's3cr@t' });
    expect(p.redacted).toBe('rediss://decnet:***@redis.example:6380/2');
  });
  it('defaults port 6379, db 0, no TLS, no credentials', () => {
    const p = parseRegistryUrl('redis://127.0.0.1');
    expect(p).toEqual({ host: '127.0.0.1', port: 6379, db: 0, tls: false, redacted: 'redis://127.0.0.1' });
  });
  it('accepts a password without a user (requirepass)', () => {
    const p = parseRegistryUrl('redis://:hunter2@localhost:7000');
    expect(p.username).toBeUndefined();
    expect(p.password).toBe('hunter2');
    expect(p.redacted).not.toContain('hunter2');
  });
  it('refuses other schemes and bad databases without echoing the password', () => {
    expect(() => parseRegistryUrl('http://u:topsecret@h')).toThrow(/redis:\/\/ or rediss:\/\//);
    try {
      parseRegistryUrl('redis://u:topsecret@h/x');
      expect.unreachable();
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('topsecret');
    }
  });
  it('redacts unparsable strings entirely', () => {
    expect(redactUrl('redis://u:pa ss@[bad')).not.toContain('pa ss');
    expect(redactUrl('garbage with secret')).toBe('<unparsable registry url>');
  });
});
