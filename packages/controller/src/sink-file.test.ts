import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { AttackerEvent } from '@decnet/api';
import { describe, expect, it } from 'vitest';
import { JsonlFileSink, eventsFilePath, rotatedFiles } from './sink-file.js';
import { StreamSink, fanOut, type EventSink } from './sinks.js';
import { scratchDir } from '../../../test-scratch.js';



const ev = (i: number): AttackerEvent => ({ time: new Date(1_700_000_000_000 + i).toISOString(), decky: 'd1', service: 'ssh', event: 'command', command: `cmd-${i}`.padEnd(40, 'x') });
const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AttackerEvent) : []);

describe('JsonlFileSink', () => {
  it('appends one JSON object per line, creating the directory', () => {
    const dir = scratchDir('decnet-h11-file-');
    const path = eventsFilePath(dir);
    const s = new JsonlFileSink({ path });
    s.write(ev(1));
    s.write(ev(2));
    expect(read(path).map((e) => e['command'])).toEqual([ev(1)['command'], ev(2)['command']]);
    expect(s.stats()).toEqual({ written: 2, dropped: 0, errors: 0 });
  });

  it('rotates by size, keeps `keep` files, loses nothing it kept and never exceeds the limit', async () => {
    const dir = scratchDir('decnet-h11-rot-');
    const path = join(dir, 'events.jsonl');
    const lineBytes = Buffer.byteLength(JSON.stringify(ev(0))) + 1;
    const s = new JsonlFileSink({ path, maxBytes: lineBytes * 3, keep: 2 });
    for (let i = 0; i < 10; i++) s.write(ev(i));
    await s.close();
    const files = rotatedFiles(path, 2);
    expect(files).toEqual([`${path}.2`, `${path}.1`, path]);
    const all = files.flatMap(read).map((e) => e['command'] as string);
    // 10 lines, 3 per file, 3 files kept: the oldest complete file (lines 0-2) went away
    expect(all).toEqual([3, 4, 5, 6, 7, 8, 9].map((i) => ev(i)['command']));
    for (const f of files) expect(readFileSync(f).length).toBeLessThanOrEqual(lineBytes * 3);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(s.rotations).toBe(3);
  });

  it('continues an existing file after a restart and counts its size', () => {
    const dir = scratchDir('decnet-h11-cont-');
    const path = join(dir, 'e.jsonl');
    const lineBytes = Buffer.byteLength(JSON.stringify(ev(0))) + 1;
    new JsonlFileSink({ path, maxBytes: lineBytes * 2 }).write(ev(0));
    const s2 = new JsonlFileSink({ path, maxBytes: lineBytes * 2 });
    s2.write(ev(1));
    s2.write(ev(2));
    expect(read(`${path}.1`).length).toBe(2);
    expect(read(path).length).toBe(1);
  });

  it('counts an unwritable path as errors without throwing', () => {
    const errors: Error[] = [];
    const dir = scratchDir('decnet-h11-bad-');
    writeFileSync(join(dir, 'file'), 'not a directory');
    const s = new JsonlFileSink({ path: join(dir, 'file', 'sub', 'events.jsonl'), onError: (e) => errors.push(e) });
    expect(() => s.write(ev(1))).not.toThrow();
    expect(s.stats().errors).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe('StreamSink and fanOut', () => {
  it('writes JSON lines and isolates a throwing sink', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const bad: EventSink = { name: 'bad', write: () => { throw new Error('boom'); }, close: async () => {}, stats: () => ({ written: 0, dropped: 0, errors: 0 }) };
    const good = new StreamSink(out);
    const warnings: string[] = [];
    fanOut([bad, good], ev(7), { debug() {}, info() {}, error() {}, warn: (o) => warnings.push(JSON.stringify(o)) });
    expect(JSON.parse(text.trim())).toEqual(ev(7));
    expect(warnings[0]).toContain('boom');
  });
});
