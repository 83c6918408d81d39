import { packageConfig } from '../vitest.shared.js';
export default packageConfig(import.meta.dirname + '/../packages/e2e', { include: ['**/*.e2e.ts'], serial: true, testTimeout: 300_000 });
