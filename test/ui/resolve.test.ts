// The web UI's way out of an unknown switchover outcome (needs-operator), in Debian's chromium
// through the real `vmhop ui`, against a real agent in this process whose job really is in that
// state: two in-process agents with real QEMU, every finish from a to b lost (the target never
// commits), the commit answer bounded at 2 s, and the links to b kept down so nobody can ask it.
// The operator's plain choice is refused (b cannot be asked), the forced one is offered only
// behind its checkbox, and taking it resumes the VM on the source.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentPair, startMigration } from '../integration/helpers/agent-pair.js';
import { FaultyPeerLink, type Rule } from '../integration/helpers/faulty-peer-link.js';
import { whereRuns } from '../integration/helpers/pair-oracles.js';
import type { TestAgent } from '../integration/helpers/test-agent.js';
import { shot } from './helpers/browser.js';
import { openUi, type UiSession } from './helpers/ui-session.js';

const agents: TestAgent[] = [];
let session: UiSession | undefined;
let page: Page;
let jobId = '';

/** b cannot be reached from a at all. */
const B_DOWN: Rule[] = (['hostInfo', 'prepare', 'finish', 'abort', 'postcopy', 'job'] as const).map(
  (call) => ({ call, fault: { kind: 'drop' } }),
);

beforeAll(async () => {
  const { a, b, link } = await agentPair(agents, {
    link: (name, t) => new FaultyPeerLink(name, t),
    reverse: (name, s) => new FaultyPeerLink(name, s),
    config: { commitAnswerSeconds: 2 },
  });
  link.rules = [{ call: 'finish', fault: { kind: 'drop' } }];
  jobId = await startMigration(a, { stallTimeoutMs: 5_000 });
  const job = await a.services.engine.wait(jobId);
  expect(job.state).toBe('needs-operator');
  link.rules = B_DOWN;
  expect(await whereRuns(a, b, 'v1')).not.toBe('both');
  session = await openUi({ a });
  page = session.page;
}, 120_000);

afterAll(async () => {
  await session?.close();
  await Promise.all(agents.map((x) => x.close()));
});

describe('web UI: a switchover of unknown outcome', () => {
  it('refuses the plain choice while the target cannot be asked, then resolves with --force behind its checkbox', async () => {
    const [a, b] = agents as [TestAgent, TestAgent];
    await page.goto(`${session!.ui.url}#/jobs/a/${jobId}`);
    const panel = page.getByRole('region', { name: 'Outcome unknown: who runs v1?' });
    await expect.poll(() => panel.isVisible(), { timeout: 15_000 }).toBe(true);
    // No forced choice before the target was found unreachable.
    expect(await page.getByRole('group', { name: 'Decide without the target' }).count()).toBe(0);
    await panel.getByRole('button', { name: 'a (the source) runs it' }).click();
    const alert = panel.getByRole('alert', { name: 'Resolve failed' });
    await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toMatch(/cannot ask `b`.*add --force/);
    expect(a.services.jobStore.get(jobId).state).toBe('needs-operator');
    const force = page.getByRole('group', { name: 'Decide without the target' });
    const button = force.getByRole('button', { name: 'a runs it (force)' });
    expect(await button.isDisabled()).toBe(true);
    await shot(page, 'resolve-1-force-offered');
    await force.getByLabel('I know b does not run v1').check();
    await button.click();
    await expect.poll(() => a.services.jobStore.get(jobId).state, { timeout: 15_000 }).toBe('failed');
    await expect.poll(() => panel.count(), { timeout: 15_000 }).toBe(0);
    expect(await whereRuns(a, b, 'v1')).toBe('a');
    expect(a.services.jobStore.get(jobId).report?.notes?.join(' ')).toMatch(
      /the operator decided the source runs it \(--force\)/,
    );
    await shot(page, 'resolve-2-resolved');
  });
});
