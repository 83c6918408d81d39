/**
 * Contract between the honeypot runtime and each service implementation.
 * The runtime (entrypoint) reads the service config file, builds a ServiceContext
 * and calls the service's `start`. Every attacker interaction goes through `emit`,
 * which writes one JSON line (AttackerEvent) to stdout.
 */
import type { AttackerEvent, ConfigValue, Persona, ServicePort } from '@decnet/api';

export interface ConnInfo {
  src_ip: string;
  src_port: number;
  dst_port: number;
  /** set on connections to an implicit-TLS port */
  tls?: boolean;
}

export type EmitFields = Omit<AttackerEvent, 'time' | 'decky' | 'service'> & { event: string };

export interface ServiceContext {
  decky: string;
  /** the service name from the catalogue, e.g. "ssh" */
  service: string;
  hostname: string;
  /** ports to listen on (from the catalogue / spec) */
  ports: ServicePort[];
  /** the decky's persona (names, domain, Windows build): one story for every service of the decky */
  persona: Persona;
  /** persona config, coerced, including secret values (read from the mounted file) */
  config: Record<string, ConfigValue>;
  /** TLS identities made at apply time, by certificate style (runtime/tls.ts serviceSecureContext) */
  tls?: Record<string, { cert: string; key: string }>;
  /** ssh host keys made at apply time (kept across restarts); none: the service makes its own */
  sshHostKeys?: string[];
  /** the port to bind for a catalogue port (tests: 0 for an ephemeral one); default the port itself */
  listenPort?: (p: ServicePort) => number;
  /** directory for captured uploads/mail (size-capped by the service), may be a tmpfs */
  quarantineDir: string;
  /** bind address, "0.0.0.0" in containers, "127.0.0.1" in tests */
  bindHost: string;
  emit(fields: EmitFields): void;
  /** diagnostics (not attacker events), goes to stderr */
  log(msg: string, extra?: Record<string, unknown>): void;
}

export interface RunningService {
  /** actual bound ports, in the order of ctx.ports (useful when tests bind port 0) */
  ports: number[];
  close(): Promise<void>;
}

export interface ServiceModule {
  name: string;
  start(ctx: ServiceContext): Promise<RunningService>;
}
