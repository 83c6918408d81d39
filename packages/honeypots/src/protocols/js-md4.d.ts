// js-md4 ships no types; only the pure-JS streaming path is used (md4(buf) would route to node:crypto, which has no MD4 on OpenSSL 3).
declare module 'js-md4' {
  interface Md4Hasher {
    update(data: string | ArrayBuffer | Uint8Array): Md4Hasher;
    hex(): string;
    arrayBuffer(): ArrayBuffer;
  }
  const md4: { create(): Md4Hasher };
  export default md4;
}
