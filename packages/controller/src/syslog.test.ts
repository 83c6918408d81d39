import type { AttackerEvent } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeParamValue, formatSyslog, frameSyslog, parseLogTarget, parseOctetCounted, sanitizeParamName, syslogTimestamp } from './syslog.js';

const base = { time: '2025-03-04T05:06:07.890Z', host: 'h1', fleet: 'lab', decky: 'web-01', service: 'ssh' };

describe('formatSyslog (golden)', () => {
  it('auth attempt', () => {
    const ev: AttackerEvent = {
      ...base,
      event: 'auth_attempt',
      src_ip: '10.213.0.99',
      src_port: 40022,
      dst_port: 22,
      principal: 'root',
      secret_kind: 'plaintext',
      secret: 'pa"ss\\w]rd',
      secret_b64: 'cGEic3Ncd11yZA==',
      success: false,
    };
    expect(formatSyslog(ev)).toBe(
      '<134>1 2025-03-04T05:06:07.890Z web-01 ssh - auth_attempt [relay@55555 host="h1" fleet="lab" src_ip="10.213.0.99" ' +
        'src_port="40022" dst_port="22" principal="root" secret_kind="plaintext" secret="pa\\"ss\\\\w\\]rd" ' +
        'secret_b64="cGEic3Ncd11yZA==" success="false"] login attempt from 10.213.0.99:40022 user="root" rejected',
    );
  });

  it('folded connection with extra fields sorted after the known ones', () => {
    const ev: AttackerEvent = { ...base, service: 'http', event: 'connection', src_ip: '10.0.0.5', src_port: 5000, dst_port: 80, count: 4, zeta: 1, alpha: { a: [1] } };
    expect(formatSyslog(ev)).toBe(
      '<134>1 2025-03-04T05:06:07.890Z web-01 http - connection [relay@55555 host="h1" fleet="lab" src_ip="10.0.0.5" ' +
        'src_port="5000" dst_port="80" count="4" alpha="{\\"a\\":[1\\]}" zeta="1"] connection from 10.0.0.5:5000 to port 80 (x4)',
    );
  });

  it('command with control characters stays on one line', () => {
    const ev: AttackerEvent = { time: base.time, decky: 'd', service: 'telnet', event: 'command', src_ip: '1.2.3.4', command: 'cat /etc/passwd\nid' };
    const line = formatSyslog(ev);
    expect(line).toBe(
      '<134>1 2025-03-04T05:06:07.890Z d telnet - command [relay@55555 src_ip="1.2.3.4" command="cat /etc/passwd\\x0aid"] ' +
        'command from 1.2.3.4: cat /etc/passwd\\x0aid',
    );
    expect(line).not.toMatch(/[\r\n]/);
  });

  it('no params -> NILVALUE structured data; odd header values sanitised', () => {
    const ev: AttackerEvent = { time: 'not a time', decky: 'my decky', service: 'x'.repeat(60), event: 'service_start' };
    expect(formatSyslog(ev)).toBe(`<134>1 - my_decky ${'x'.repeat(48)} - service_start - service start`);
  });

  it('request summary and unsafe param names', () => {
    const ev = { ...base, service: 'http', event: 'request', method: 'GET', path: '/wp-login.php', 'we ird=na]me"': 'v' } as AttackerEvent;
    expect(formatSyslog(ev)).toBe(
      '<134>1 2025-03-04T05:06:07.890Z web-01 http - request [relay@55555 host="h1" fleet="lab" method="GET" path="/wp-login.php" ' +
        'we_ird_na_me_="v"] request: GET /wp-login.php',
    );
  });
});

describe('pieces', () => {
  it('timestamps: valid RFC 5424 kept, others normalised', () => {
    expect(syslogTimestamp('2025-03-04T05:06:07.123456+02:00')).toBe('2025-03-04T05:06:07.123456+02:00');
    expect(syslogTimestamp('2025-03-04T05:06:07.123456789Z')).toBe('2025-03-04T05:06:07.123Z');
    expect(syslogTimestamp('2025-03-04 05:06:07Z')).toBe('2025-03-04T05:06:07.000Z');
    expect(syslogTimestamp('')).toBe('-');
  });

  it('property: escaped values contain no unescaped quote or bracket and no line breaks', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = escapeParamValue(s);
        expect(e).not.toMatch(/[\r\n\x00]/);
        // strip escape pairs; what remains must hold no special characters
        expect(e.replace(/\\["\\\]]/g, '')).not.toMatch(/["\]]/);
      }),
    );
  });

  it('property: param names are 1..32 legal characters or empty', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const n = sanitizeParamName(s);
        expect(n.length).toBeLessThanOrEqual(32);
        expect(n).toMatch(/^[\x21-\x7e]*$/);
        expect(n).not.toMatch(/[=\]" ]/);
      }),
    );
  });
});

describe('log targets and framing', () => {
  it('parses udp/tcp targets', () => {
    expect(parseLogTarget('udp://127.0.0.1:5514')).toEqual({ proto: 'udp', host: '127.0.0.1', port: 5514 });
    expect(parseLogTarget('tcp://logs.example.org:6514/')).toEqual({ proto: 'tcp', host: 'logs.example.org', port: 6514 });
    expect(parseLogTarget('tcp://[::1]:514')).toEqual({ proto: 'tcp', host: '::1', port: 514 });
    expect(parseLogTarget('udp://collector')).toEqual({ proto: 'udp', host: 'collector', port: 514 });
  });

  it('rejects anything else with a typed error', () => {
    for (const bad of ['http://x:1', 'udp://:514', 'udp://h:0', 'udp://h:70000', 'udp://h:1/path', 'tcp://u@h:1', 'udp://h:x', '']) {
      expect(() => parseLogTarget(bad), bad).toThrow(expect.objectContaining({ code: 'InvalidLogTarget', hint: expect.any(String) }));
    }
  });

  it('frames: raw over UDP, octet counted over TCP (UTF-8 byte length)', () => {
    expect(frameSyslog('héllo', 'udp').toString('utf8')).toBe('héllo');
    expect(frameSyslog('héllo', 'tcp').toString('utf8')).toBe('6 héllo');
    const stream = Buffer.concat([frameSyslog('a b', 'tcp'), frameSyslog('ünï', 'tcp'), Buffer.from('12 partial')]);
    const { lines, rest } = parseOctetCounted(stream);
    expect(lines).toEqual(['a b', 'ünï']);
    expect(rest.toString()).toBe('12 partial');
  });
});
