export * from './types.js';
export * from './plan-types.js';
export * from './events.js';
export * from './canonical.js';
export * from './spec-schema.js';
export * from './labels.js';
export * from './labels-inspect.js';
export * from './test-fixtures.js';
