/**
 * MQTT honeypot: a mosquitto-like broker (aedes does MQTT 3.1/3.1.1/5 framing and
 * routing). CONNECT credentials are captured; anonymous access follows
 * `mqtt_anonymous`, accounts `users`; `$SYS/broker/version` gives `mqtt_version` with
 * mosquitto's other $SYS topics; retained fake telemetry is there to be read; every
 * SUBSCRIBE and PUBLISH is an event. aedes's own `$SYS/<id>/...` topics never reach a
 * client, publishes to `$SYS` are dropped as mosquitto does, and what an attacker can
 * make the broker keep is bounded (bytes per connection, retained topics and sizes).
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { secretFields, SERVICE_CATALOG } from '@decnet/api';
import { Aedes, type Client } from 'aedes';
import { accountMap } from '../../runtime/accounts.js';
import { startTcpService } from '../../runtime/tcp.js';
import type { ConnInfo, RunningService, ServiceContext, ServiceModule } from '../../runtime/types.js';
import { decideAuth, sysTopics, telemetryTopics } from './broker-data.js';

export const MQTT_LIMITS = {
  /** bytes one connection may send in all (a bigger packet ends it before it is buffered) */
  maxBytesPerConnection: 1 << 20,
  /** retained topics clients may add */
  maxClientRetained: 256,
  /** payload of a retained message a client may leave */
  maxRetainedPayload: 16 << 10,
  /** payload shown in an event */
  maxPayloadLogged: 512,
  sysIntervalMs: 10_000,
};

/**
 * The stream the broker reads and writes: the socket's bytes, cut off after `max` (a
 * bigger packet ends the connection before the parser buffers it).
 */
function cappedStream(socket: Socket, max: number, onExceeded: () => void): Duplex {
  let seen = 0;
  let corked = false;
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) return cb();
      // mqtt-packet writes a packet in pieces (the CONNACK's first byte alone): send what one
      // tick writes as one segment, as mosquitto does, or nmap reads a lone 0x20 as JetDirect
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(chunk);
      cb();
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > max) {
      onExceeded();
      socket.destroy();
      return;
    }
    d.push(chunk);
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', () => {});
  return d;
}

function preview(payload: Buffer | string): string {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const s = secretFields(b.subarray(0, MQTT_LIMITS.maxPayloadLogged)).secret;
  return b.length > MQTT_LIMITS.maxPayloadLogged ? `${s}...[${b.length} bytes]` : s;
}

export const mqttService: ServiceModule = {
  name: 'mqtt',
  async start(ctx: ServiceContext): Promise<RunningService> {
    const defs = SERVICE_CATALOG['mqtt']!.config;
    const version = typeof ctx.config['mqtt_version'] === 'string' && ctx.config['mqtt_version'] ? ctx.config['mqtt_version'] : (defs['mqtt_version']!.default as string);
    const anonymous = typeof ctx.config['mqtt_anonymous'] === 'boolean' ? ctx.config['mqtt_anonymous'] : (defs['mqtt_anonymous']!.default as boolean);
    const accounts = accountMap(ctx.config['users'], true);
    const started = Date.now();
    const infos = new WeakMap<Client, ConnInfo>();
    const clientRetained = new Set<string>();
    const counts = { total: 0, connected: 0, received: 0, sent: 0, subscriptions: 0 };

    const broker = await Aedes.createBroker({
      heartbeatInterval: 3_600_000,
      connectTimeout: 10_000,
      drainTimeout: 10_000,
      maxInflightInbound: 64,
      queueLimit: 42,
      maxClientsIdLength: 256,
      authenticate(client, username, password, done) {
        const info = infos.get(client);
        const decision = decideAuth(accounts, anonymous, username, password);
        if (username !== undefined || password !== undefined) {
          ctx.emit({
            event: 'auth_attempt',
            ...(info ?? {}),
            principal: username ?? '',
            secret_kind: 'plaintext',
            ...secretFields(password ?? Buffer.alloc(0)),
            client_id: String(client.id).slice(0, 256),
            success: decision.ok,
          });
        } else {
          ctx.emit({ event: 'request', ...(info ?? {}), command: 'CONNECT', client_id: String(client.id).slice(0, 256), anonymous: true, accepted: decision.ok });
        }
        if (decision.ok) return done(null, true);
        const err = Object.assign(new Error('not authorised'), { returnCode: decision.returnCode });
        done(err as never, null);
      },
      authorizePublish(client, packet, cb) {
        if (!client) return cb(null); // the broker's own $SYS and telemetry
        const info = infos.get(client);
        counts.received++;
        ctx.emit({ event: 'command', ...(info ?? {}), command: 'PUBLISH', topic: packet.topic.slice(0, 512), qos: packet.qos, retain: packet.retain, payload: preview(packet.payload), size: packet.payload.length });
        // mosquitto drops client publishes to $SYS without telling the client
        if (packet.topic.startsWith('$SYS')) return cb(new Error('$SYS is read-only'));
        if (packet.retain) {
          const known = clientRetained.has(packet.topic);
          if (packet.payload.length > MQTT_LIMITS.maxRetainedPayload || (!known && clientRetained.size >= MQTT_LIMITS.maxClientRetained)) packet.retain = false;
          else clientRetained.add(packet.topic);
        }
        cb(null);
      },
      authorizeSubscribe(client, sub, cb) {
        counts.subscriptions++;
        ctx.emit({ event: 'command', ...(infos.get(client) ?? {}), command: 'SUBSCRIBE', topic: sub.topic.slice(0, 512), qos: sub.qos });
        cb(null, sub);
      },
      authorizeForward(_client, packet) {
        // aedes's own heartbeat and client notices would give it away
        if (packet.topic.startsWith(`$SYS/${broker.id}/`)) return null;
        counts.sent++;
        return packet;
      },
    });
    broker.on('client', () => {
      counts.total++;
      counts.connected++;
    });
    broker.on('clientDisconnect', () => {
      counts.connected = Math.max(0, counts.connected - 1);
    });
    broker.on('clientError', (client, err) => {
      ctx.emit({ event: 'protocol_error', ...(infos.get(client) ?? {}), message: String(err.message).slice(0, 200) });
    });
    broker.on('connectionError', (client, err) => {
      ctx.emit({ event: 'protocol_error', ...(infos.get(client) ?? {}), message: String(err.message).slice(0, 200) });
    });

    const retain = (topic: string, payload: string) =>
      new Promise<void>((resolve) => broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false }, () => resolve()));
    const publishSys = async () => {
      const t = sysTopics(version, {
        uptimeSeconds: Math.floor((Date.now() - started) / 1000) + 1,
        connected: counts.connected,
        total: counts.total,
        messagesReceived: counts.received,
        messagesSent: counts.sent,
        retained: clientRetained.size + 10,
        subscriptions: counts.subscriptions,
      });
      for (const [topic, payload] of t) await retain(topic, payload);
    };
    for (const [topic, payload] of telemetryTopics(ctx.decky, ctx.hostname)) await retain(topic, payload);
    await publishSys();
    const timer = setInterval(() => void publishSys(), MQTT_LIMITS.sysIntervalMs);
    timer.unref();

    const running = await startTcpService(ctx, (socket, info) => {
      const stream = cappedStream(socket, MQTT_LIMITS.maxBytesPerConnection, () =>
        ctx.emit({ event: 'protocol_error', ...info, message: `more than ${MQTT_LIMITS.maxBytesPerConnection} bytes on one connection` }),
      );
      const client = broker.handle(stream);
      infos.set(client, info);
    });
    return {
      ports: running.ports,
      async close() {
        clearInterval(timer);
        await running.close();
        await new Promise<void>((r) => broker.close(() => r()));
      },
    };
  },
};
