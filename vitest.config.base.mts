// The vitest settings every package shares; each package's vitest.config.mts re-exports them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Load the built packages natively, as Node would: one instance of each, so that
    // instanceof and process-wide state hold between a test and the packages it imports.
    server: { deps: { external: [/\/packages\/mob[a-z-]*\/dist\//] } },
    typecheck: { include: ['src/**/*.test-d.ts', 'test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
