export * from './lib/output.js';
export { DECNET_VERSION } from './lib/version.js';
