/**
 * Redis key layout of one decnet cluster. Every key carries the hash tag
 * `{<cluster>}` so all keys of a cluster live in one slot (scripts may touch
 * several of them, and a Redis Cluster keeps them together).
 *
 * decnet:{c}:hosts            SET   registered host ids
 * decnet:{c}:sliced           SET   host ids that have a desired slice
 * decnet:{c}:host:<id>        HASH  registration: id address labels(JSON) capacity controllerVersion registeredAt lastHeartbeat
 * decnet:{c}:hb:<id>          STRING heartbeat (RFC 3339 time), expires after its TTL (PX)
 * decnet:{c}:desired:<id>     HASH  gen (slice generation) doc (DesiredSlice JSON) idx (JSON [[decky, fleet/ip], ...])
 * decnet:{c}:observed:<id>    HASH  gen (desired generation observed) doc (ObservedSlice JSON) at (last report time)
 * decnet:{c}:index:decky      HASH  decky name -> host id (every desired decky of the cluster)
 * decnet:{c}:index:ip         HASH  "<fleet>/<ip>" -> decky name (IPs are unique within a fleet's LAN)
 * decnet:{c}:epoch            STRING placement epoch: +1 on every desired-slice commit
 * decnet:{c}:rev              STRING change revision: +1 on every desired/observed/host change (polled)
 * decnet:{c}:meta             HASH  recoveringUntil (epoch ms): a controller found the registry had forgotten
 *                                   it (Redis restarted empty); apply waits until then so live hosts can
 *                                   write their slices back before anything is placed
 * decnet:{c}:changes          pub/sub channel: a JSON ChangeMessage after every change
 * decnet:{c}:events           STREAM the cluster's attacker events (fields id, ev), trimmed by length and age
 * decnet:{c}:events:seen:<id> STRING event ids already appended (dedupe), expire after the stream's max age
 */
import { DecnetError } from '@decnet/api';

const NAME = /^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/i;

export function validateClusterName(cluster: string): string {
  if (!NAME.test(cluster)) throw new DecnetError('InvalidClusterName', `invalid cluster name ${JSON.stringify(cluster)}`, 'use letters, digits, ".", "_" and "-" (at most 128 characters)');
  return cluster;
}

export function validateHostId(hostId: string): string {
  if (!NAME.test(hostId)) throw new DecnetError('InvalidHostId', `invalid host id ${JSON.stringify(hostId)}`, 'use letters, digits, ".", "_" and "-" (at most 128 characters)');
  return hostId;
}

export interface ClusterKeys {
  cluster: string;
  prefix: string;
  hosts: string;
  sliced: string;
  deckyIndex: string;
  ipIndex: string;
  epoch: string;
  rev: string;
  channel: string;
  meta: string;
  events: string;
  /** dedupe marker of one event id (sha256 hex of its canonical JSON) */
  eventSeen(eventId: string): string;
  host(id: string): string;
  heartbeat(id: string): string;
  desired(id: string): string;
  observed(id: string): string;
}

export function clusterKeys(cluster: string): ClusterKeys {
  const prefix = `decnet:{${validateClusterName(cluster)}}:`;
  return {
    cluster,
    prefix,
    hosts: `${prefix}hosts`,
    sliced: `${prefix}sliced`,
    deckyIndex: `${prefix}index:decky`,
    ipIndex: `${prefix}index:ip`,
    epoch: `${prefix}epoch`,
    rev: `${prefix}rev`,
    channel: `${prefix}changes`,
    meta: `${prefix}meta`,
    events: `${prefix}events`,
    eventSeen: (eventId) => `${prefix}events:seen:${eventId}`,
    host: (id) => `${prefix}host:${validateHostId(id)}`,
    heartbeat: (id) => `${prefix}hb:${validateHostId(id)}`,
    desired: (id) => `${prefix}desired:${validateHostId(id)}`,
    observed: (id) => `${prefix}observed:${validateHostId(id)}`,
  };
}

/** Field of the IP index: IPs are unique per fleet (one LAN per fleet). */
export const ipIndexField = (fleet: string, ip: string): string => `${fleet}/${ip}`;
