export * from './runtime/types.js';
export { createEmitter, type Emit, type EmitterOptions } from './runtime/emit.js';
export * from './runtime/limits.js';
export * from './runtime/tcp.js';
export { parseRuntimeConfig, loadRuntimeConfig, configPath } from './runtime/config.js';
export { startFromConfig } from './runtime/runner.js';
export { registry, getService, serviceNames } from './services/index.js';
export { buildHoneypotImage, honeypotImageTag, HONEYPOT_IMAGE_REPO, DEFAULT_BASE_IMAGE, type BuildHoneypotOptions } from './image.js';
