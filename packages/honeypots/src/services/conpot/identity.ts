/**
 * The PLC persona shared by conpot's listeners: vendor/product/version strings,
 * a serial number and plant name derived from the decky, and a deterministic
 * process image (coils, inputs, registers) seeded by the decky name. Pure.
 */
import { createHash } from 'node:crypto';
import { SERVICE_CATALOG, type ConfigValue } from '@decnet/api';
import type { ServiceContext } from '../../runtime/types.js';

export interface PlcIdentity {
  vendor: string;
  product: string;
  orderCode: string;
  version: string;
  serial: string;
  plant: string;
  /** automation system name (S7 SZL 0x1c index 1) */
  systemName: string;
  /** [major, minor, patch] of version */
  fw: [number, number, number];
}

function cfgStr(config: Record<string, ConfigValue>, key: string): string {
  const v = config[key];
  if (typeof v === 'string' && v !== '') return v;
  const d = SERVICE_CATALOG['conpot']?.config[key]?.default;
  return typeof d === 'string' ? d : '';
}

function hash(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A Siemens-shaped serial: "S C-" + 4 alphanumerics + 8 digits (e.g. S C-C2UR28922012). */
export function serialFor(decky: string): string {
  const h = hash(`conpot-serial:${decky}`);
  const L = 'ABCDEFGHJKLMNPRSTUVWXYZ';
  const head = `${L[h[0]! % L.length]}${h[1]! % 10}${L[h[2]! % L.length]}${L[h[3]! % L.length]}`;
  let digits = '';
  for (let i = 0; i < 8; i++) digits += String(h[4 + i]! % 10);
  return `S C-${head}${digits}`;
}

export function parseVersion(v: string): [number, number, number] {
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
  const n = (s: string | undefined) => Math.min(255, Number(s ?? 0) || 0);
  return m ? [n(m[1]), n(m[2]), n(m[3])] : [0, 0, 0];
}

export function identityFrom(ctx: Pick<ServiceContext, 'decky' | 'hostname' | 'persona' | 'config'>): PlcIdentity {
  const host = ctx.persona?.hostname || ctx.hostname || ctx.decky;
  const domain = ctx.persona?.dnsDomain ?? '';
  const plantDefault = (domain ? domain.split('.')[0]!.toUpperCase() : host.toUpperCase()).slice(0, 24);
  const plant = cfgStr(ctx.config, 'ics_plant') || plantDefault || 'Plant';
  const version = cfgStr(ctx.config, 'ics_version');
  return {
    vendor: cfgStr(ctx.config, 'ics_vendor'),
    product: cfgStr(ctx.config, 'ics_product'),
    orderCode: cfgStr(ctx.config, 'ics_order_code'),
    version,
    serial: cfgStr(ctx.config, 'ics_serial') || serialFor(ctx.decky),
    plant,
    systemName: plant,
    fw: parseVersion(version),
  };
}

/** Size of each modbus table (addresses 0..TABLE_SIZE-1 exist). */
export const TABLE_SIZE = 1000;

/**
 * A process image: registers hold plausible slowly-drifting process values
 * (temperatures in 0.1 degC, pressures in mbar, flows, levels in %, counters),
 * coils/inputs a fixed on/off pattern. Writes are kept (bounded: the tables
 * have a fixed size) so a write followed by a read gives back what was written.
 */
export class ProcessImage {
  readonly coils: Uint8Array;
  readonly inputs: Uint8Array;
  readonly holding: Uint16Array;
  readonly inputRegs: Uint16Array;
  constructor(readonly seed: string) {
    const blocks = new Map<string, Buffer>();
    const h = (tag: string, i: number) => {
      const k = `${seed}:${tag}:${i >> 5}`;
      let b = blocks.get(k);
      if (!b) blocks.set(k, (b = hash(k)));
      return b[i & 31]!;
    };
    this.coils = new Uint8Array(TABLE_SIZE);
    this.inputs = new Uint8Array(TABLE_SIZE);
    this.holding = new Uint16Array(TABLE_SIZE);
    this.inputRegs = new Uint16Array(TABLE_SIZE);
    for (let i = 0; i < TABLE_SIZE; i++) {
      this.coils[i] = h('c', i) < 90 ? 1 : 0;
      this.inputs[i] = h('d', i) < 110 ? 1 : 0;
      this.holding[i] = baseValue(i, h('h', i));
      this.inputRegs[i] = baseValue(i, h('i', i));
    }
  }
  /** an input register value now: base value with a small deterministic drift over time */
  inputAt(addr: number, now = Date.now()): number {
    const base = this.inputRegs[addr]!;
    if (addr % 5 === 4) return (base + Math.floor(now / 60_000)) & 0xffff; // counters
    const drift = Math.round(Math.sin(now / 90_000 + addr) * Math.max(1, base / 200));
    return Math.max(0, Math.min(0xffff, base + drift));
  }
}

function baseValue(i: number, r: number): number {
  switch (i % 5) {
    case 0:
      return 180 + r; // temperature 18.0..43.5 degC (x10)
    case 1:
      return 980 + r * 4; // pressure mbar
    case 2:
      return 120 + r * 3; // flow l/min
    case 3:
      return Math.floor(r / 2.56); // level %
    default:
      return 1000 + r * 37; // counter
  }
}

export const POINT_NAMES = ['Temperature', 'Pressure', 'Flow', 'Level', 'Counter'];
export const POINT_UNITS = ['°C', 'mbar', 'l/min', '%', ''];
export function formatPoint(addr: number, raw: number): string {
  return addr % 5 === 0 ? (raw / 10).toFixed(1) : String(raw);
}
