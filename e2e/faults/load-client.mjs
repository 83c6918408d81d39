// Attacker-side load generator, run inside a lab fleet's attacker namespace:
//   node load-client.mjs HOST PORT SPEAKS_FIRST CONCURRENCY DURATION_MS
// Keeps CONCURRENCY connections in flight for DURATION_MS. Each connection sends
// SPEAKS_FIRST (JSON string, "" for services that greet first, "hex:..." for binary
// protocols), waits for the first
// byte of an answer, then closes. Prints one JSON line: how many connections were made,
// answered, closed cleanly without a byte (FIN), failed (by error code) or timed out.
import net from 'node:net';

const [host, portText, speaksFirstJson, concText, durText] = process.argv.slice(2);
const port = Number(portText);
const speaksFirstText = JSON.parse(speaksFirstJson ?? '""');
const speaksFirst = speaksFirstText.startsWith('hex:') ? Buffer.from(speaksFirstText.slice(4), 'hex') : speaksFirstText;
const concurrency = Number(concText);
const durationMs = Number(durText);
const PER_CONN_TIMEOUT_MS = 20_000; // generous: CI machines are shared and loaded

const r = { made: 0, answered: 0, cleanClose: 0, timeouts: 0, errors: {}, maxLatencyMs: 0 };
const deadline = Date.now() + durationMs;

function once() {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let settled = false;
    const done = (kind, code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (kind === 'answered') {
        r.answered++;
        r.maxLatencyMs = Math.max(r.maxLatencyMs, Date.now() - t0);
      } else if (kind === 'clean') r.cleanClose++;
      else if (kind === 'timeout') r.timeouts++;
      else r.errors[code] = (r.errors[code] ?? 0) + 1;
      socket.destroy();
      resolve();
    };
    r.made++;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => done('timeout'), PER_CONN_TIMEOUT_MS);
    socket.on('connect', () => {
      if (speaksFirst.length > 0) socket.write(speaksFirst);
    });
    socket.once('data', () => done('answered'));
    socket.on('end', () => done('clean'));
    socket.on('error', (e) => done('error', e.code ?? e.message));
    socket.on('close', () => done('clean'));
  });
}

async function worker() {
  while (Date.now() < deadline) await once();
}

await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify(r)}\n`);
