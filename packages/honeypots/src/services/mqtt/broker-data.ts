/**
 * What the fake broker holds, as data: the mosquitto-style `$SYS/broker/...` tree of
 * the configured version and the retained telemetry a device of this persona would
 * publish. Deterministic from the decky name; no I/O.
 */
import { createHash } from 'node:crypto';

export interface SysCounts {
  uptimeSeconds: number;
  connected: number;
  total: number;
  messagesReceived: number;
  messagesSent: number;
  retained: number;
  subscriptions: number;
}

/** mosquitto 2.x's $SYS topics (retained, refreshed every sys_interval = 10 s). */
export function sysTopics(version: string, c: SysCounts): [string, string][] {
  return [
    ['$SYS/broker/version', version],
    ['$SYS/broker/uptime', `${c.uptimeSeconds} seconds`],
    ['$SYS/broker/clients/total', String(c.total)],
    ['$SYS/broker/clients/inactive', '0'],
    ['$SYS/broker/clients/disconnected', '0'],
    ['$SYS/broker/clients/active', String(c.connected)],
    ['$SYS/broker/clients/connected', String(c.connected)],
    ['$SYS/broker/clients/expired', '0'],
    ['$SYS/broker/clients/maximum', String(Math.max(c.connected, c.total))],
    ['$SYS/broker/messages/stored', String(c.retained)],
    ['$SYS/broker/messages/received', String(c.messagesReceived)],
    ['$SYS/broker/messages/sent', String(c.messagesSent)],
    ['$SYS/broker/subscriptions/count', String(c.subscriptions)],
    ['$SYS/broker/retained messages/count', String(c.retained)],
    ['$SYS/broker/store/messages/count', String(c.retained)],
  ];
}

function rng(seed: string): () => number {
  let h = createHash('sha256').update(seed).digest();
  let i = 0;
  return () => {
    if (i + 4 > h.length) {
      h = createHash('sha256').update(h).digest();
      i = 0;
    }
    const v = h.readUInt32BE(i) / 0x1_0000_0000;
    i += 4;
    return v;
  };
}

/** Retained telemetry of a small site: sensors, a gateway and a relay, named after the host. */
export function telemetryTopics(decky: string, hostname: string): [string, string][] {
  const r = rng(`mqtt:${decky}`);
  const site = hostname.toLowerCase().replace(/[^a-z0-9-]/g, '') || 'site';
  const temp = (18 + r() * 8).toFixed(1);
  const hum = Math.round(35 + r() * 25);
  const power = Math.round(800 + r() * 2400);
  const fw = `1.${Math.floor(r() * 9)}.${Math.floor(r() * 20)}`;
  const mac = Array.from({ length: 3 }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join('');
  return [
    [`${site}/sensors/temp01/temperature`, temp],
    [`${site}/sensors/temp01/humidity`, String(hum)],
    [`${site}/sensors/temp01/status`, 'online'],
    [`${site}/power/meter1/watts`, String(power)],
    [`${site}/hvac/zone1/setpoint`, '21.5'],
    [`${site}/hvac/zone1/mode`, 'auto'],
    [`${site}/gateway/status`, JSON.stringify({ online: true, fw, ip_mode: 'dhcp', id: `gw-${mac}` })],
    [`${site}/relay/door1/state`, 'locked'],
    [`tele/${site}-plug-${mac}/LWT`, 'Online'],
    [`tele/${site}-plug-${mac}/STATE`, JSON.stringify({ POWER: 'ON', Wifi: { RSSI: Math.round(40 + r() * 50) } })],
  ];
}

export type AuthDecision = { ok: true } | { ok: false; returnCode: 4 | 5 };

/**
 * mosquitto 2.x: without a password file every login is accepted when anonymous access is
 * on (credentials are not checked), a client without credentials is refused (5) when it is
 * off; with accounts, a wrong user or password is refused (5, "not authorised").
 */
export function decideAuth(accounts: ReadonlyMap<string, { pass: string }>, anonymous: boolean, username: string | undefined, password: Buffer | undefined): AuthDecision {
  if (username === undefined) return anonymous ? { ok: true } : { ok: false, returnCode: 5 };
  if (accounts.size === 0) return anonymous ? { ok: true } : { ok: false, returnCode: 5 };
  return accounts.get(username)?.pass === (password ?? Buffer.alloc(0)).toString('utf8') ? { ok: true } : { ok: false, returnCode: 5 };
}
