import { readFileSync } from 'node:fs';

/** decnet's version: the one in the cli package.json (all packages move together). */
export const DECNET_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
