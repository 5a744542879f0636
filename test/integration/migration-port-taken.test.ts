// F21 of issue 13: another program holds the first port of the target's migration range. The
// target picks the next free one, and the migration goes through; the other program's
// listener is untouched. Two agents in one process over a direct peer link, real QEMU.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATION_PORTS } from '../../src/agent/migration/wire/ports.js';
import { agentPair, migrateV1 } from './helpers/agent-pair.js';
import type { TestAgent } from './helpers/test-agent.js';
import { testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
let squatter: net.Server | undefined;
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
  await new Promise<void>((r) => (squatter ? squatter.close(() => r()) : r()));
  squatter = undefined;
});

describe.skipIf(!guest)("the target's migration port", () => {
  it('is the next free one when another program holds the first, and the migration completes', async () => {
    const { a, b } = await agentPair(agents, { paused: true });
    const address = b.services.migrationAddress();
    let accepted = 0;
    squatter = net.createServer((s) => {
      accepted++;
      s.destroy();
    });
    const held = await new Promise<boolean>((resolve) => {
      squatter!.once('error', () => resolve(false));
      squatter!.listen(DEFAULT_MIGRATION_PORTS.first, address, () => resolve(true));
    });
    // If something else of this machine holds it already, the case is staged all the same.
    const job = await migrateV1(a);
    expect(job.state, JSON.stringify(job.report)).toBe('completed');
    const journal = b.services.jobStore.journalOf(job.id).map((l) => l.entry);
    expect(journal.find((e) => /^listening on /.test(e))).toMatch(
      new RegExp(`^listening on ${address.replaceAll('.', '\\.')}:(\\d+)`),
    );
    expect(journal.find((e) => /^listening on /.test(e))).not.toContain(`:${DEFAULT_MIGRATION_PORTS.first} `);
    if (held) {
      expect(accepted).toBe(0);
      expect(squatter.listening).toBe(true);
    }
  });
});
