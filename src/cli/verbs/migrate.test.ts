// `vmhop migrate` checks its flag values before asking an agent: a value outside the protocol's
// choices exits 2 naming the flag, the value and the allowed values; good values reach the request.
// virsh's spellings with the same meaning are accepted; where vmhop differs, the help says so.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runVmhop } from '../testing/run-vmhop.js';

// A stand-in agent at the socket boundary: records each migration request, answers a dry run.
let server: Server;
let url: string;
const requests: { vm: string; mode: string; options: Record<string, unknown> }[] = [];
beforeAll(async () => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-migrate-test-${process.pid}-none.json`);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/migrations') requests.push(JSON.parse(body) as never);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"preflight":[]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env.VMHOP_HOSTS;
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  requests.length = 0;
});

const migrate = (...flags: string[]) =>
  runVmhop('--json', '-c', url, 'migrate', 'web1', '--to', 'b', '--live', '--dry-run', ...flags);

describe('vmhop migrate flag values', () => {
  it.each([
    ['--timeout-action', 'explode', 'abort, suspend, postcopy'],
    ['--compressed', 'lz4', 'zlib, zstd'],
    ['--copy-storage', 'some', 'all, inc'],
    ['--policy', 'fastest', 'finish, postcopy, throttle, strict, manual'],
  ])('refuses %s %s before any request, listing %s', async (flag, value, allowed) => {
    const r = await migrate(flag, value);
    expect(r.exitCode).toBe(2);
    expect(requests).toEqual([]);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('VMHOP_ERR_USAGE');
    for (const part of [flag, `'${value}'`, allowed]) expect(error.message).toContain(part);
  });

  it('sends allowed values as they are, and --compressed alone as zstd', async () => {
    const r = await migrate(
      '--timeout-action',
      'suspend',
      '--compressed',
      '--parallel',
      '2',
      '--copy-storage',
      'inc',
    );
    expect(r.exitCode).toBeUndefined();
    expect(requests).toEqual([
      expect.objectContaining({
        vm: 'web1',
        mode: 'live-copy',
        options: { timeoutAction: 'suspend', compressed: 'zstd', parallel: 2, copyStorage: 'inc' },
      }),
    ]);
  });

  it("sends --policy as the request's policy, beside the flags it is checked against", async () => {
    const r = await migrate('--policy', 'strict', '--max-downtime', '50');
    expect(r.exitCode).toBeUndefined();
    expect(requests).toEqual([
      expect.objectContaining({ options: { policy: 'strict', maxDowntimeMs: 50, timeoutAction: 'abort' } }),
    ]);
  });

  it('lists the choices in the help', async () => {
    const help = (await runVmhop('migrate', '--help')).out.replace(/\s+/g, ' ');
    expect(help).toContain('choices: "abort", "suspend", "postcopy"');
    expect(help).toContain('choices: "zlib", "zstd"');
    expect(help).toContain('choices: "all", "inc"');
  });
});

describe("vmhop migrate with virsh's spellings", () => {
  it.each([
    ['--copy-storage-all', { copyStorage: 'all' }],
    ['--copy-storage-inc', { copyStorage: 'inc' }],
    ['--unsafe', { force: true }],
    ['--undefinesource', {}],
    ['--persistent', {}],
  ])('%s sends what the vmhop flag sends', async (flag, options) => {
    const r = await migrate(flag);
    expect(r.exitCode).toBeUndefined();
    expect(requests).toEqual([
      expect.objectContaining({
        mode: 'copyStorage' in options ? 'live-copy' : 'live-shared',
        options: { timeoutAction: 'abort', ...options },
      }),
    ]);
  });

  it.each([
    [['--copy-storage-all', '--copy-storage', 'inc'], '--copy-storage-all'],
    [['--copy-storage-all', '--copy-storage-inc'], '--copy-storage-inc'],
    [['--undefinesource', '--keep-source'], '--keep-source'],
  ])('refuses %j together (exit 2)', async (flags, named) => {
    const r = await migrate(...flags);
    expect(r.exitCode).toBe(2);
    expect(requests).toEqual([]);
    expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toContain(named);
  });

  it('says in the help where vmhop differs from virsh on purpose', async () => {
    const help = (await runVmhop('migrate', '--help')).out.replace(/\s+/g, ' ');
    expect(help).toContain('unlike virsh, vmhop removes it by default');
    expect(help).toContain('unlike virsh, the method is the value');
    expect(help).toContain("virsh's --timeout suspends; here the default aborts");
  });
});
