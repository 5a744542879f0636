// Test-only: the golden fixtures' folder and the host they pretend to import on (pools
// from context.json, KVM or not), so import and export tests resolve paths the same way.
// A dir pool holds the files directly inside its path; a block pool lists its devices.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolDef } from '../../protocol/storage.js';
import type { ImportContext } from '../import-domain.js';

export const fixturesDir = join(import.meta.dirname, '../../../test/fixtures/domain-xml');

interface FixtureHost {
  kvmAvailable: boolean;
  pools: PoolDef[];
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function fixtureHost(overrides: Partial<ImportContext> = {}): ImportContext {
  const host = readJson<FixtureHost>(join(fixturesDir, 'context.json'));
  return { kvmAvailable: host.kvmAvailable, findVolume: (path) => findIn(host.pools, path), ...overrides };
}

function findIn(pools: PoolDef[], path: string): { pool: string; volume: string } | undefined {
  for (const p of pools) {
    if (p.kind === 'block' && p.devices.includes(path)) {
      return { pool: p.name, volume: path.slice(path.lastIndexOf('/') + 1) };
    }
    if (p.kind !== 'block' && path.startsWith(`${p.path}/`) && !path.slice(p.path.length + 1).includes('/')) {
      return { pool: p.name, volume: path.slice(p.path.length + 1) };
    }
  }
  return undefined;
}

/** The inverse of `findVolume` for the same pools, as the agent's diskPath would be. */
export function fixtureDiskPath(pool: string, volume: string): string {
  const host = readJson<FixtureHost>(join(fixturesDir, 'context.json'));
  const p = host.pools.find((x) => x.name === pool);
  if (!p) throw new RangeError(`fixture pool ${pool} is not in context.json`);
  return p.kind === 'block' ? (p.devices.find((d) => d.endsWith(`/${volume}`)) ?? '') : `${p.path}/${volume}`;
}
