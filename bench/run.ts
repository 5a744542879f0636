// Benchmarks (never part of `npm test`): `npm run bench -- NAME` with NAME one of the
// scenarios below; each prints its figures as JSON. `suite` runs them all against raw QEMU and
// `virsh migrate` and also writes bench/results/suite-*.md and .json (its options: suite.ts).
import { benchAgent } from './agent.js';
import { benchLiveMigration } from './live-migration.js';
import { benchBlockMigration } from './block-migration.js';
import { benchOffline } from './offline.js';
import { benchSuite } from './suite.js';
import { benchDrainSim } from './drain-sim.js';

const scenarios: Record<string, () => Promise<unknown>> = {
  agent: benchAgent,
  'live-migration': benchLiveMigration,
  'block-migration': benchBlockMigration,
  offline: () => benchOffline(),
  suite: () => benchSuite(),
  'drain-sim': benchDrainSim,
};

const name = process.argv[2] ?? '';
const run = scenarios[name];
if (!run) {
  process.stderr.write(`usage: npm run bench -- ${Object.keys(scenarios).join('|')}\n`);
  process.exit(2);
}
process.stdout.write(JSON.stringify(await run(), null, 2) + '\n');
