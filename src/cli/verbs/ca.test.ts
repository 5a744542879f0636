// `vmhop ca`: a wrong address or name is a usage error (exit 2) with nothing written, and a
// certificate issued with IPv6 and DNS names is renewed with its key and names kept.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerCaVerbs } from './ca.js';

let dir: string;
let out: string[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-ca-verb-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Runs `vmhop --json ...` in-process; returns the exit code and the JSON document printed. */
async function vmhop(...args: string[]): Promise<{ exit: number; doc: Record<string, unknown> }> {
  out = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const program = new Command('vmhop').option('--json');
  registerCaVerbs(program);
  await program.parseAsync(['--json', ...args], { from: 'user' });
  vi.restoreAllMocks();
  return { exit: Number(process.exitCode ?? 0), doc: JSON.parse(out.join('')) as Record<string, unknown> };
}

const ca = () => join(dir, 'ca');

describe('vmhop ca', () => {
  it('refuses --ip 300.1.1.1 with exit 2, naming it, before writing anything', async () => {
    await vmhop('ca', 'init', '--dir', ca());
    const r = await vmhop(
      'ca',
      'issue',
      'host1',
      '--dir',
      ca(),
      '--out',
      join(dir, 'bad'),
      '--ip',
      '300.1.1.1',
    );
    expect(r.exit).toBe(2);
    expect(r.doc).toMatchObject({
      error: { code: 'VMHOP_ERR_USAGE', message: expect.stringMatching(/`300.1.1.1`/) },
    });
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('issues with IPv6 and DNS names and renews keeping the key', async () => {
    await vmhop('ca', 'init', '--dir', ca());
    const h = join(dir, 'h');
    const issued = await vmhop(
      'ca',
      'issue',
      'host1',
      '--dir',
      ca(),
      '--out',
      h,
      '--ip',
      '10.0.0.11',
      'fd00::11',
      '--dns',
      'host1.example.org',
    );
    expect(issued.exit).toBe(0);
    expect(issued.doc).toMatchObject({ newKey: true, names: { ips: ['10.0.0.11', 'fd00::11'] } });
    const key = readFileSync(join(h, 'server-key.pem'), 'utf8');
    const renewed = await vmhop('ca', 'renew', 'host1', '--dir', ca(), '--out', h);
    expect(renewed.exit).toBe(0);
    expect(renewed.doc).toMatchObject({ newKey: false });
    expect(readFileSync(join(h, 'server-key.pem'), 'utf8')).toBe(key);
    const cert = new X509Certificate(readFileSync(join(h, 'server-cert.pem')));
    expect(cert.subjectAltName).toBe(
      'DNS:host1, DNS:host1.example.org, IP Address:10.0.0.11, IP Address:FD00:0:0:0:0:0:0:11',
    );
  });

  it('refuses to renew another host’s folder with exit 2', async () => {
    await vmhop('ca', 'init', '--dir', ca());
    await vmhop('ca', 'issue', 'host1', '--dir', ca(), '--out', join(dir, 'h1'), '--ip', '10.0.0.11');
    const r = await vmhop('ca', 'renew', 'host2', '--dir', ca(), '--out', join(dir, 'h1'));
    expect(r.exit).toBe(2);
    expect(r.doc).toMatchObject({
      error: { message: expect.stringMatching(/certificate of `host1`, not `host2`/) },
    });
  });
});
