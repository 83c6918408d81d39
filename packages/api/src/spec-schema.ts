/**
 * Strict zod schemas for the RESOLVED shapes (types.ts). They validate specs
 * decoded from labels: anything not exactly a ResolvedDecky / ResolvedFleet is
 * rejected, so a tampered or foreign label never reaches the planner.
 */
import { z } from 'zod';
import type { ResolvedDecky, ResolvedFleet } from './types.js';

const name = z.string().min(1).max(253);
const labels = z.record(z.string(), z.string());

export const servicePortSchema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  proto: z.enum(['tcp', 'udp']),
});

export const configValueSchema = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

export const resolvedServiceSchema = z.strictObject({
  name,
  image: z.string().min(1),
  ports: z.array(servicePortSchema),
  config: z.record(z.string(), configValueSchema),
  secretKeys: z.array(z.string()),
  secretsDigest: z.string().optional(),
  command: z.array(z.string()).optional(),
});

export const mutationRecordSchema = z.strictObject({
  lastMutated: z.string(),
  previousServices: z.array(z.string()),
  declaredHash: z.string().optional(),
});

export const placementSchema = z.strictObject({
  host: z.string().optional(),
  hostSelector: labels.optional(),
});

export const osProfileNameSchema = z.enum(['linux', 'windows', 'windows_server', 'bsd', 'embedded', 'cisco']);

export const resolvedDeckySchema = z.strictObject({
  name,
  fleet: name,
  labels,
  ip: z.string().min(1),
  mac: z.string().min(1).optional(),
  hostname: z.string().min(1),
  distro: z.string().min(1),
  baseImage: z.string().min(1),
  archetype: z.string().optional(),
  nmapOS: osProfileNameSchema,
  sysctls: z.record(z.string(), z.string()),
  services: z.array(resolvedServiceSchema).min(1),
  mutateInterval: z.number().int().positive().optional(),
  placement: placementSchema.optional(),
  mutation: mutationRecordSchema.optional(),
});

export const fleetNetworkSchema = z.strictObject({
  mode: z.enum(['macvlan', 'ipvlan']),
  parent: z.string().optional(),
  subnet: z.string().min(1),
  gateway: z.string().min(1),
});

export const customServiceDefSchema = z.strictObject({
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  ports: z.array(servicePortSchema),
});

export const resolvedAlertRouteSchema = z.strictObject({
  name,
  type: z.enum(['webhook', 'slack', 'teams', 'email']),
  minSeverity: z.enum(['low', 'medium', 'high']),
  events: z.array(z.string()).optional(),
  services: z.array(z.string()).optional(),
  deckies: z.array(z.string()).optional(),
  throttleMs: z.number().int().nonnegative(),
  maxPerMinute: z.number().int().positive(),
  to: z.array(z.string()).optional(),
  from: z.string().optional(),
  tlsVerify: z.boolean(),
  secretsDigest: z.string().min(1),
});

export const resolvedFleetSchema = z.strictObject({
  name,
  labels,
  network: fleetNetworkSchema,
  lab: z.boolean(),
  mutateInterval: z.number().int().positive().optional(),
  logTarget: z.string().optional(),
  customServices: z.record(z.string(), customServiceDefSchema).optional(),
  alerts: z.array(resolvedAlertRouteSchema).optional(),
});

/** The mutable part of a fleet, carried by its settings volume (fleet-settings.ts). */
export const fleetSettingsSchema = z.strictObject({
  name,
  labels,
  mutateInterval: z.number().int().positive().optional(),
  logTarget: z.string().optional(),
  alerts: z.array(resolvedAlertRouteSchema).optional(),
});

// Compile-time guarantees that the schemas and the contract types agree both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const deckyAgrees: Same<z.infer<typeof resolvedDeckySchema>, ResolvedDecky> = true;
const fleetAgrees: Same<z.infer<typeof resolvedFleetSchema>, ResolvedFleet> = true;
void deckyAgrees;
void fleetAgrees;
