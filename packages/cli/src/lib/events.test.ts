import { writeFileSync } from 'node:fs';
import type { AttackerEvent } from '@decnet/api';
import { JsonlFileSink, eventsFilePath } from '@decnet/controller';
import { describe, expect, it } from 'vitest';
import { followCollected, readCollectedEvents } from './events.js';
import { scratchDir } from '../../../../test-scratch.js';



const ev = (i: number, over: Partial<AttackerEvent> = {}): AttackerEvent => ({ time: new Date(1_750_000_000_000 + i * 1000).toISOString(), host: 'h', fleet: 'lab', decky: 'web-01', service: 'ssh', event: 'command', command: `c${i}`, ...over });

describe('the collected stream', () => {
  it('reads rotated files oldest first and applies the filters', async () => {
    const dir = scratchDir('decnet-h11-cli-');
    const path = eventsFilePath(dir);
    const one = Buffer.byteLength(JSON.stringify(ev(0))) + 1;
    const sink = new JsonlFileSink({ path, maxBytes: one * 4, keep: 5 });
    for (let i = 0; i < 7; i++) sink.write(ev(i));
    sink.write(ev(7, { decky: 'db-01', service: 'mysql' }));
    sink.write(ev(8, { host: 'other-host' }));
    sink.write(ev(9, { event: 'service_start' }));
    sink.write(ev(10, { event: 'decky_mutated', service: 'decnet' }));
    await sink.close();
    expect(sink.rotations).toBeGreaterThanOrEqual(2);
    writeFileSync(`${path}.9`, 'garbage\n'); // beyond keep: never read
    const cmds = (evs: AttackerEvent[]) => evs.map((e) => e['command']);
    expect(cmds(await readCollectedEvents(dir, 'h', {}))).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c10']);
    expect(cmds(await readCollectedEvents(dir, 'h', { decky: 'db-01' }))).toEqual(['c7']);
    expect(cmds(await readCollectedEvents(dir, 'h', { service: 'decnet' }))).toEqual(['c10']);
    expect(cmds(await readCollectedEvents(dir, 'h', { since: Math.floor(Date.parse(ev(5).time) / 1000) }))).toEqual(['c5', 'c6', 'c7', 'c10']);
  });

  it('-f tails new lines and follows a rotation without losing lines', async () => {
    const dir = scratchDir('decnet-h11-tail-');
    const path = eventsFilePath(dir);
    const one = Buffer.byteLength(JSON.stringify(ev(0))) + 1;
    const sink = new JsonlFileSink({ path, maxBytes: one * 3 });
    sink.write(ev(0)); // before the tail starts: not shown
    const got: string[] = [];
    const ac = new AbortController();
    const done = followCollected(dir, 'h', {}, (e) => got.push(e['command'] as string), ac.signal, 20);
    await new Promise((r) => setTimeout(r, 60));
    for (let i = 1; i <= 7; i++) {
      sink.write(ev(i));
      if (i % 2 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    const deadline = Date.now() + 3000;
    while (got.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await done;
    expect(got).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
  });
});
