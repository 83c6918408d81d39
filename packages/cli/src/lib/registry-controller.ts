/**
 * `controller --registry`: the flags and the RegistrySync extension of a controller
 * that also serves a shard registry (register, heartbeat, pull and materialise its
 * desired slice, publish its observed slice). Without --registry nothing changes.
 */
import { hostname } from 'node:os';
import { Flags } from '@oclif/core';
import { DecnetError } from '@decnet/api';
import { ClusterStreamSink, RegistrySync, type CollectorLog, type Logger } from '@decnet/controller';
import type { Engine } from '@decnet/engine';
import { ClusterEventStream, DEFAULT_EVENTS_MAX_LEN, Registry } from '@decnet/registry';
import { durationMs } from './errors.js';
import { ensureImages } from './images.js';
import { registryFlags } from './registry-apply.js';
import { DECNET_VERSION } from './version.js';

export const registryControllerFlags = {
  ...registryFlags,
  'host-label': Flags.string({ description: 'label of this host for placement.hostSelector, k=v (repeatable; decnet.io/fleets=a,b limits the fleets it serves)', multiple: true }),
  capacity: Flags.integer({ description: 'most deckies the registry places here', min: 0 }),
  address: Flags.string({ description: 'how operators reach this host (informational; default: its hostname)' }),
  'heartbeat-ttl': Flags.string({ description: 'heartbeat TTL: after it expires the host is NotReady', default: '10s' }),
  'registry-poll': Flags.string({ description: 'desired-slice poll period (besides change messages)', default: '2s' }),
  'image-base': Flags.string({ description: 'base image for building decnet/honeypot when a slice needs it and it is missing', env: 'DECNET_IMAGE_BASE' }),
  'cluster-events-max-len': Flags.integer({ description: 'approximate most entries of the cluster event stream (with --registry)', min: 1, default: DEFAULT_EVENTS_MAX_LEN }),
  'cluster-events-max-age': Flags.string({ description: 'approximate longest age of cluster event stream entries, and its dedupe window (with --registry)', default: '7d' }),
};

export interface RegistryControllerFlags {
  registry?: string;
  cluster?: string;
  'host-label'?: string[];
  capacity?: number;
  address?: string;
  'heartbeat-ttl': string;
  'registry-poll': string;
  'image-base'?: string;
  'cluster-events-max-len'?: number;
  'cluster-events-max-age'?: string;
}

export function parseHostLabels(items: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (i <= 0) throw new DecnetError('InvalidFlag', `--host-label ${JSON.stringify(item)} is not k=v`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** The sync (a controller extension) and a close() for the registry connection; undefined without --registry. */
export async function registrySyncFromFlags(flags: RegistryControllerFlags, ctx: { engine: Engine; hostId: string; logger: Logger }): Promise<{ sync: RegistrySync; close(): Promise<void> } | undefined> {
  if (!flags.registry) return undefined;
  const labels = parseHostLabels(flags['host-label']);
  const heartbeatTtlMs = durationMs(flags['heartbeat-ttl'], '--heartbeat-ttl');
  const pollMs = durationMs(flags['registry-poll'], '--registry-poll');
  const log = ctx.logger.child({ component: 'registry' });
  // never wait for Redis: the local loop must run while it is down
  const registry = await Registry.connect({
    url: flags.registry,
    cluster: flags.cluster ?? 'default',
    waitReady: false,
    connectionName: `decnet-controller-${ctx.hostId}`,
    logger: { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m), debug: (o, m) => log.debug(o, m) },
  });
  const sync = new RegistrySync({
    registry,
    engine: ctx.engine,
    hostId: ctx.hostId,
    host: { labels, address: flags.address ?? hostname(), controllerVersion: DECNET_VERSION, ...(flags.capacity !== undefined ? { capacity: flags.capacity } : {}) },
    heartbeatTtlMs,
    pollMs,
    logger: ctx.logger,
    ensureImages: async (images) => {
      await ensureImages(ctx.engine, images, { imageBase: flags['image-base'], log: (m) => log.info(m) });
    },
  });
  log.info({ registry: registry.target, cluster: registry.cluster, heartbeatTtlMs }, 'registry sync enabled');
  return { sync, close: () => registry.close() };
}

/**
 * The sink feeding the cluster event stream (`decnet:{<cluster>}:events`) with this host's
 * events, on its own registry connection (background connect; spools while Redis is down).
 * Undefined without --registry.
 */
export async function clusterSinkFromFlags(flags: RegistryControllerFlags, ctx: { stateDir: string; hostId: string; log: CollectorLog }): Promise<ClusterStreamSink | undefined> {
  if (!flags.registry) return undefined;
  const maxAgeMs = durationMs(flags['cluster-events-max-age'] ?? '7d', '--cluster-events-max-age');
  const stream = await ClusterEventStream.connect({
    url: flags.registry,
    cluster: flags.cluster ?? 'default',
    waitReady: false,
    connectionName: `decnet-events-${ctx.hostId}`,
    maxLen: flags['cluster-events-max-len'] ?? DEFAULT_EVENTS_MAX_LEN,
    maxAgeMs,
    logger: { info: (o, m) => ctx.log.info(o, m), warn: (o, m) => ctx.log.warn(o, m), debug: (o, m) => ctx.log.debug(o, m) },
  });
  ctx.log.info({ registry: stream.target, stream: stream.keys.events, maxLen: stream.maxLen, maxAgeMs }, 'cluster event stream enabled');
  return new ClusterStreamSink({ stream, stateDir: ctx.stateDir, ownsStream: true, log: ctx.log });
}
