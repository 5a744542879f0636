// Field-by-field mutations of a valid body: each leaf gets wrong types, hostile strings,
// extreme numbers, or goes missing; objects get unknown and prototype-polluting keys. Each
// mutation says whether the agent must refuse it (4xx) or only survive it (no 5xx).
import { EXTREME_NUMBERS, VALID_NAMES, wrongTypes } from './hostile-values.js';

export type Path = (string | number)[];

export interface Mutation {
  category: 'wrong-types' | 'hostile-strings' | 'missing-fields' | 'extreme-numbers' | 'unknown-fields';
  /** The body as sent (JSON text: `__proto__` keys cannot be made with object literals). */
  text: string;
  path: string;
  mustRefuse: boolean;
}

/**
 * Leaf keys whose values become names, paths or identifiers: a hostile string there must be
 * refused. Strings that are valid names anyway (`constructor`, `toString`) are not hostile.
 */
const CONSTRAINED = new Set([
  'name',
  'vm',
  'pool',
  'volume',
  'target',
  'backingVolume',
  'mac',
  'bridge',
  'machine',
  'cpuModel',
  'uuid',
  'jobId',
  'source',
  'path',
  'devices',
  'targetDevice',
  'migrateDisks',
  'sha256',
  'device',
]);
/** Checked only on client requests: a peer's copy of the options is not where the pool is chosen. */
const CLIENT_CONSTRAINED = new Set(['targetPool']);
/** Routes where such a key is a lookup that answers "not seen" rather than a refusal. */
const LOOKUP_ROUTES = new Set(['POST /v1/peer/probe']);

function leaves(v: unknown, path: Path = []): { path: Path; value: unknown }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (v && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  }
  return [{ path, value: v }];
}

function objects(v: unknown, path: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => objects(x, [...path, i]));
  if (v && typeof v === 'object') {
    return [path, ...Object.entries(v).flatMap(([k, x]) => objects(x, [...path, k]))];
  }
  return [];
}

const clone = <T>(v: T): T => structuredClone(v);

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const r = clone(root) as Record<string | number, unknown>;
  let o = r;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1) as string | number] = value;
  return r;
}

function deleteAt(root: unknown, path: Path): unknown {
  const r = clone(root) as Record<string | number, unknown>;
  let o = r;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (Array.isArray(o)) o.splice(last as number, 1);
  else delete o[last];
  return r;
}

/** A marker string replaced in the JSON text, for values JSON.stringify cannot write. */
const RAW = '\u0001raw\u0001';
function withRaw(root: unknown, path: Path, raw: string): string {
  return JSON.stringify(setAt(root, path, RAW)).replace(JSON.stringify(RAW), raw);
}

export function mutations(routeKey: string, base: unknown, hostile: string[]): Mutation[] {
  const out: Mutation[] = [];
  const name = (p: Path) => p.join('.') || '(body)';
  for (const { path, value } of leaves(base)) {
    const key = [...path].reverse().find((k) => typeof k === 'string') ?? '';
    for (const w of wrongTypes(value)) {
      out.push({
        category: 'wrong-types',
        text: JSON.stringify(setAt(base, path, w)),
        path: name(path),
        mustRefuse: true,
      });
    }
    if (typeof value === 'string') {
      for (const h of hostile) {
        const peer = routeKey.includes(' /v1/peer/');
        const constrained =
          (CONSTRAINED.has(key) || (CLIENT_CONSTRAINED.has(key) && !peer)) &&
          !LOOKUP_ROUTES.has(routeKey) &&
          !VALID_NAMES.has(h);
        out.push({
          category: 'hostile-strings',
          text: JSON.stringify(setAt(base, path, h)),
          path: name(path),
          mustRefuse: constrained,
        });
      }
    }
    if (typeof value === 'number') {
      for (const n of EXTREME_NUMBERS) {
        out.push({
          category: 'extreme-numbers',
          text: JSON.stringify(setAt(base, path, n)),
          path: name(path),
          mustRefuse: false,
        });
      }
      out.push({
        category: 'extreme-numbers',
        text: withRaw(base, path, '1e400'),
        path: name(path),
        mustRefuse: false,
      });
    }
    if (path.length > 0) {
      out.push({
        category: 'missing-fields',
        text: JSON.stringify(deleteAt(base, path)),
        path: name(path),
        mustRefuse: false,
      });
    }
  }
  for (const path of objects(base)) {
    const at = (o: Record<string, unknown>) =>
      JSON.stringify(setAt(base, path, { ...(getAt(base, path) as object), ...o }));
    out.push({
      category: 'unknown-fields',
      text: at({ zzUnknown: 1, nested: { deeper: [1] } }),
      path: name(path),
      mustRefuse: false,
    });
    const inner = JSON.stringify(getAt(base, path)).replace(/^\{/, '{"__proto__":{"polluted":"yes"},');
    out.push({
      category: 'unknown-fields',
      text: withRaw(base, path, inner.replace(/,\}$/, '}')),
      path: `${name(path)}.__proto__`,
      mustRefuse: true,
    });
    const ctor = JSON.stringify(getAt(base, path)).replace(
      /^\{/,
      '{"constructor":{"prototype":{"polluted":"yes"}},',
    );
    out.push({
      category: 'unknown-fields',
      text: withRaw(base, path, ctor.replace(/,\}$/, '}')),
      path: `${name(path)}.constructor`,
      mustRefuse: true,
    });
  }
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root);
}
