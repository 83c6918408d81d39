export * from './runtime/types.js';
export { createEmitter, type Emit, type EmitterOptions } from './runtime/emit.js';
export * from './runtime/limits.js';
export * from './runtime/tcp.js';
export { registry, getService, serviceNames } from './services/index.js';
