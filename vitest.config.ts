// Two projects: fast unit tests (fakes at socket/process boundaries only) and e2e tests
// that run real QEMU on the test bed. e2e files run one at a time: two TCG guests fill both cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/integration/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/e2e/helpers/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The web UI in Debian's chromium against real agents on the test bed.
        test: {
          name: 'ui',
          include: ['test/ui/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/e2e/helpers/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
