export * from './types.js';
export * from './plan-types.js';
export * from './events.js';
export * from './canonical.js';
