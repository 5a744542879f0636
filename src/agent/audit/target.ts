// What an audited request acted on, read from its params, body and (for objects named only
// by the answer, like an imported VM or a new job) its response. Values come from the
// request: they are cut short and stripped of control characters before they are stored,
// so a hostile name cannot flood the log or rewrite a terminal that prints it.
import type { AuditAction } from './actions.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/** A stored string: at most 200 characters, control characters shown as `?`. */
export function clean(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  // eslint-disable-next-line no-control-regex
  const s = v.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

export interface AuditSubject {
  target: string;
  jobId?: string;
  details: Record<string, unknown>;
}

/** The subject of `action` for a request with these params, query and body, answered with `response`. */
export function subjectOf(
  action: AuditAction,
  req: { params?: unknown; query?: unknown; body?: unknown },
  response: unknown,
): AuditSubject {
  const p = obj(req.params);
  const b = obj(req.body);
  const r = obj(response);
  const kind = action.split('.')[0];
  const join = (prefix: string, ...parts: (string | undefined)[]) =>
    parts.every((x) => x !== undefined) ? `${prefix}/${parts.join('/')}` : '-';
  const jobId =
    clean(p.id) ??
    clean(b.jobId) ??
    clean(obj(r.job).id) ??
    clean(action === 'volume.copy' ? r.id : undefined);
  const details: Record<string, unknown> = {};
  const force = b.force ?? obj(req.query).force;
  if (typeof force === 'boolean') details.force = force;
  if (b.volumeCopy === true) details.volumeCopy = true;
  switch (kind) {
    case 'vm':
      return {
        target: join('vm', clean(p.name) ?? clean(obj(b.spec).name) ?? clean(obj(r.vm).name)),
        details,
      };
    case 'pool':
      return { target: join('pool', clean(p.pool) ?? clean(b.name) ?? clean(b.pool)), details };
    case 'volume': {
      if (action === 'volume.copy') details.to = clean(b.to);
      return {
        target: join(
          'volume',
          clean(p.pool) ?? clean(b.pool),
          clean(p.volume) ?? clean(b.name) ?? clean(b.volume),
        ),
        ...(jobId ? { jobId } : {}),
        details,
      };
    }
    default: {
      // migration.*: the VM when the request names it, else the job.
      const vm = clean(p.name) ?? clean(b.vm) ?? clean(obj(b.spec).name);
      const to = clean(b.to);
      if (to) details.to = to;
      if (b.mode !== undefined) details.mode = clean(b.mode);
      return { target: vm ? `vm/${vm}` : join('job', jobId), ...(jobId ? { jobId } : {}), details };
    }
  }
}
