/**
 * A DNS response writer with name compression (RFC 1035 4.1.4), as BIND writes its
 * answers: every owner and target name points back at an earlier occurrence of its
 * longest known suffix (the question's name is at offset 12). dns-packet decodes
 * queries; its encoder writes names in full, which nmap's BIND signatures (`\xc0\x0c`)
 * do not match.
 */
export type RData =
  | { type: 'A'; ip: string }
  | { type: 'NS'; host: string }
  | { type: 'TXT'; text: string }
  | { type: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };

export interface Rr {
  name: string;
  cls: number;
  ttl: number;
  data: RData;
}

const TYPE = { A: 1, NS: 2, SOA: 6, TXT: 16 } as const;

export class DnsWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;
  private readonly suffixes = new Map<string, number>();

  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }

  get size(): number {
    return this.length;
  }

  raw(b: Buffer): void {
    this.push(b);
  }

  u16(n: number): void {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n & 0xffff);
    this.push(b);
  }

  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.push(b);
  }

  name(name: string): void {
    const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.suffixes.get(suffix);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.length < 0x3fff) this.suffixes.set(suffix, this.length);
      const l = Buffer.from(labels[i]!.slice(0, 63), 'latin1');
      this.push(Buffer.from([l.length]));
      this.push(l);
    }
    this.push(Buffer.from([0]));
  }

  /** the question as the client sent it (its name becomes the first compression target) */
  question(name: string, type: number, cls: number): void {
    this.name(name);
    this.u16(type);
    this.u16(cls);
  }

  rr(r: Rr): void {
    this.name(r.name);
    this.u16(TYPE[r.data.type]);
    this.u16(r.cls);
    this.u32(r.ttl);
    // rdlength is known only after the rdata (names may compress): write it in place
    const lenAt = this.parts.length;
    this.u16(0);
    const start = this.length;
    const d = r.data;
    switch (d.type) {
      case 'A':
        this.raw(Buffer.from(d.ip.split('.').map(Number)));
        break;
      case 'NS':
        this.name(d.host);
        break;
      case 'TXT': {
        const t = Buffer.from(d.text, 'utf8').subarray(0, 255);
        this.push(Buffer.from([t.length]));
        this.push(t);
        break;
      }
      case 'SOA':
        this.name(d.mname);
        this.name(d.rname);
        for (const n of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) this.u32(n);
        break;
    }
    this.parts[lenAt]!.writeUInt16BE(this.length - start);
  }

  /** an EDNS OPT pseudo-record advertising `udpSize` */
  opt(udpSize: number): void {
    this.push(Buffer.from([0]));
    this.u16(41);
    this.u16(udpSize);
    this.u32(0);
    this.u16(0);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}
