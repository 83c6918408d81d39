import { describe, expect, it } from 'vitest';
import { SERVICE_CATALOG, type ConfigField } from './catalog-services.js';
import { coerceServiceConfig, coerceValue } from './coerce.js';

const v = (field: ConfigField, value: unknown) => coerceValue(field, value);

describe('coerceValue', () => {
  it('parses ints from numbers and strings, with bounds', () => {
    expect(v({ type: 'int' }, 42)).toEqual({ ok: true, value: 42 });
    expect(v({ type: 'int' }, ' 404 ')).toEqual({ ok: true, value: 404 });
    expect(v({ type: 'int' }, '4.5')).toEqual({ ok: false, message: 'expected an integer, got "4.5"' });
    expect(v({ type: 'int' }, 4.5)).toEqual({ ok: false, message: 'expected an integer, got number 4.5' });
    expect(v({ type: 'int', min: 1, max: 10 }, '11')).toEqual({ ok: false, message: 'expected an integer from 1 to 10, got 11' });
  });

  it('reads bools from true/1/yes/on and false/0/no/off in any case', () => {
    for (const t of [true, 'true', 'TRUE', '1', 1, 'yes', 'On']) expect(v({ type: 'bool' }, t)).toEqual({ ok: true, value: true });
    for (const f of [false, 'false', 'False', '0', 0, 'no', 'OFF']) expect(v({ type: 'bool' }, f)).toEqual({ ok: true, value: false });
    expect(v({ type: 'bool' }, 'maybe')).toEqual({ ok: false, message: 'expected a boolean (true/1/yes/on or false/0/no/off), got "maybe"' });
  });

  it('checks enum membership', () => {
    const f: ConfigField = { type: 'enum', values: ['a', 'b'] };
    expect(v(f, 'b')).toEqual({ ok: true, value: 'b' });
    expect(v(f, 'c')).toEqual({ ok: false, message: 'expected one of a, b, got "c"' });
  });

  it('reads multi-enums from lists or comma strings', () => {
    const f: ConfigField = { type: 'multi-enum', values: ['a', 'b', 'c'] };
    expect(v(f, 'a, c,a')).toEqual({ ok: true, value: ['a', 'c'] });
    expect(v(f, ['b'])).toEqual({ ok: true, value: ['b'] });
    expect(v(f, 'a,x,y')).toEqual({ ok: false, message: 'unknown values x, y; expected any of a, b, c' });
    expect(v(f, 3)).toEqual({ ok: false, message: 'expected a list (or comma-separated string) of a, b, c, got number 3' });
  });

  it('decodes b64: textareas to UTF-8 and rejects malformed payloads', () => {
    expect(v({ type: 'textarea' }, `b64:${Buffer.from('héllo\nworld').toString('base64')}`)).toEqual({ ok: true, value: 'héllo\nworld' });
    expect(v({ type: 'textarea' }, 'plain b64: text')).toEqual({ ok: true, value: 'plain b64: text' });
    expect(v({ type: 'textarea' }, 'b64:!!!')).toEqual({ ok: false, message: 'malformed base64 after "b64:" (expected standard base64 with padding)' });
    expect(v({ type: 'textarea' }, 'b64:aGk')).toMatchObject({ ok: false });
    expect(v({ type: 'textarea' }, `b64:${Buffer.from([0xff, 0xfe]).toString('base64')}`)).toEqual({ ok: false, message: 'base64 after "b64:" does not decode to UTF-8 text' });
    // secrets are not decoded
    expect(v({ type: 'secret' }, 'b64:aGk=')).toEqual({ ok: true, value: 'b64:aGk=' });
  });

  it('keeps strings as written and refuses lossy numbers', () => {
    expect(v({ type: 'string' }, 19045)).toEqual({ ok: true, value: '19045' });
    expect(v({ type: 'string' }, 5.1)).toEqual({ ok: false, message: 'expected a string, got number 5.1 (quote it to keep it as written)' });
    expect(v({ type: 'string' }, ['a'])).toEqual({ ok: false, message: 'expected a string, got a list' });
  });
});

describe('coerceServiceConfig', () => {
  it('coerces every key, separates secrets and never adds defaults', () => {
    const r = coerceServiceConfig('smtp_relay', { relay_port: '2525', relay_tls: 'no', relay_password: 'hunter2', smtp_banner: 'hi' }, SERVICE_CATALOG['smtp_relay']!.config);
    expect(r).toEqual({ config: { relay_port: 2525, relay_tls: false, smtp_banner: 'hi' }, secrets: { relay_password: 'hunter2' }, problems: [] });
  });

  it('rejects unknown keys naming the known ones', () => {
    expect(coerceServiceConfig('ftp', { banner: 'x', motd: 'y' }, SERVICE_CATALOG['ftp']!.config).problems).toEqual([
      { key: 'motd', message: 'unknown key "motd" for service ftp; known keys: banner' },
    ]);
    expect(coerceServiceConfig('llmnr', { banner: 'x' }, SERVICE_CATALOG['llmnr']!.config).problems).toEqual([
      { key: 'banner', message: 'service llmnr takes no persona config (got key "banner")' },
    ]);
  });

  it('turns the string "false" into a real boolean (the original passed it as truthy)', () => {
    expect(coerceServiceConfig('rdp', { nla: 'false' }, SERVICE_CATALOG['rdp']!.config).config).toEqual({ nla: false });
  });
});
