// Follows one migration job: its info from GET /v1/jobs/:id, then progress from the SSE
// stream (job.progress), collected into the series the charts draw. A slow poll covers a
// stream that drops; job.ended fetches the final report.
import { useCallback, useEffect, useState } from 'react';
import type { JobInfo, Progress } from '../../../protocol/migration.js';
import { useAgentEvents } from '../../api/events.js';
import { agent, enc } from '../../api/http.js';

export interface Sample {
  elapsedMs: number;
  rateBps: number;
  remainingBytes: number;
  dirtyRateBps: number;
}

const MAX_SAMPLES = 600;
const POLL_MS = 3_000;

function toSample(p: Progress): Sample {
  return {
    elapsedMs: p.elapsedMs,
    rateBps: p.rateBps,
    remainingBytes:
      p.ramRemainingBytes + p.disks.reduce((n, d) => n + Math.max(0, d.totalBytes - d.doneBytes), 0),
    dirtyRateBps: p.dirtyRateBps,
  };
}

export function useJob(host: string, id: string) {
  const [job, setJob] = useState<JobInfo>();
  const [error, setError] = useState<unknown>();
  const [samples, setSamples] = useState<Sample[]>([]);

  const add = useCallback((p: Progress | undefined) => {
    if (!p) return;
    setSamples((s) => {
      const last = s[s.length - 1];
      if (last && last.elapsedMs >= p.elapsedMs) return s;
      return [...s, toSample(p)].slice(-MAX_SAMPLES);
    });
  }, []);

  const load = useCallback(() => {
    agent<JobInfo>(host, 'GET', `/v1/jobs/${enc(id)}`).then((j) => {
      setJob(j);
      setError(undefined);
      add(j.progress);
    }, setError);
  }, [host, id, add]);

  useEffect(load, [load]);
  const running = job?.state === 'running';
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(load, POLL_MS);
    return () => window.clearInterval(t);
  }, [running, load]);

  useAgentEvents([host], (_h, e) => {
    if (e.type === 'job.progress' && e.job === id) {
      const p = e.data as unknown as Progress;
      add(p);
      setJob((j) => (j ? { ...j, phase: p.phase, progress: p } : j));
    }
    if ((e.type === 'job.ended' && e.job === id) || e.type === 'resync') load();
  });

  return { job, error, samples, reload: load };
}
