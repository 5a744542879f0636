// Watches a VM's run state on every test-bed host at once, through the second QMP monitor
// the test-bed agents give each QEMU (observer.sock), so the agent's own monitor is not
// disturbed. It records every moment at which more than one host ran the VM's vCPUs.
import { existsSync } from 'node:fs';
import { QmpSession, queryStatus } from '../../../src/qmp/index.js';
import type { HostPlan } from '../../../src/testbed/plan.js';

export interface SamplerReport {
  samples: number;
  bothRunning: number;
  runningOn: Record<string, number>;
}

export function startSampler(hosts: HostPlan[], vm: string, intervalMs = 20) {
  const sessions = new Map<string, QmpSession>();
  const report: SamplerReport = { samples: 0, bothRunning: 0, runningOn: {} };
  let stopped = false;
  const sock = (h: HostPlan) => `${h.backingRun}/vms/${vm}/observer.sock`;

  const sessionOf = async (h: HostPlan): Promise<QmpSession | undefined> => {
    const s = sessions.get(h.name);
    if (s && !s.isClosed) return s;
    if (!existsSync(sock(h))) return undefined;
    try {
      const n = await QmpSession.connect(sock(h), { timeoutMs: 500, maxAttempts: 2 });
      sessions.set(h.name, n);
      return n;
    } catch {
      return undefined;
    }
  };

  const loop = (async () => {
    // Bounded by stop(): tests always stop the sampler in a finally block.
    while (!stopped) {
      const running: string[] = [];
      for (const h of hosts) {
        const s = await sessionOf(h);
        const st = s ? await queryStatus(s, { timeoutMs: 1_000 }).catch(() => undefined) : undefined;
        if (st?.running) running.push(h.name);
      }
      report.samples++;
      for (const r of running) report.runningOn[r] = (report.runningOn[r] ?? 0) + 1;
      if (running.length > 1) report.bothRunning++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();

  return {
    async stop(): Promise<SamplerReport> {
      stopped = true;
      await loop;
      for (const s of sessions.values()) await s.close();
      return report;
    },
  };
}
