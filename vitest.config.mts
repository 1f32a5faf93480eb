import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // `import ... from 'vigilo'` resolves to the source inside the repo, as it does from dist/ for users.
    alias: { vigilo: resolve(import.meta.dirname, 'src/client/index.ts') }
  },
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    environment: 'node',
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks'
  }
});
