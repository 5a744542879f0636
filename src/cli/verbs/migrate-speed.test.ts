// `vmhop migrate-setspeed|migrate-setmaxdowntime|migrate-getspeed` check their values before
// asking an agent (exit 2, the --json error document naming the argument and the range), and send
// good ones to the VM's speed routes; completion offers the verbs.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runVmhop } from '../testing/run-vmhop.js';

// A stand-in agent at the socket boundary: records each request, answers with a speed document.
let server: Server;
let url: string;
const requests: { method: string; url: string; body: string }[] = [];
beforeAll(async () => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-speed-test-${process.pid}-none.json`);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, body });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"job":"j","vm":"web1","bandwidthMiBs":null,"maxDowntimeMs":300}');
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

const vmhop = (...args: string[]) => runVmhop('--json', '-c', url, ...args);

describe('vmhop migrate-setspeed / migrate-setmaxdowntime / migrate-getspeed', () => {
  it.each([
    ['migrate-setspeed', '-1', 'MiB/s', '0 to 1000000'],
    ['migrate-setspeed', '1.5', 'MiB/s', '0 to 1000000'],
    ['migrate-setspeed', 'fast', 'MiB/s', '0 to 1000000'],
    ['migrate-setspeed', '1000001', 'MiB/s', '0 to 1000000'],
    ['migrate-setmaxdowntime', '0', 'ms', '1 to 2000000'],
    ['migrate-setmaxdowntime', '300ms', 'ms', '1 to 2000000'],
  ])('%s web1 %s exits 2 before any request, naming %s and %s', async (verb, value, arg, range) => {
    const r = await vmhop(verb, 'web1', value);
    expect(r.exitCode).toBe(2);
    expect(requests).toEqual([]);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe('VMHOP_ERR_USAGE');
    for (const part of [arg, `'${value}'`, range]) expect(error.message).toContain(part);
  });

  it('exits 2 when the value is missing', async () => {
    const r = await vmhop('migrate-setspeed', 'web1');
    expect(r.exitCode).toBe(2);
    expect(requests).toEqual([]);
  });

  it('sends good values to the VM’s speed routes and prints the answer', async () => {
    expect((await vmhop('migrate-setspeed', 'web1', '0')).exitCode).toBeUndefined();
    expect((await vmhop('migrate-setmaxdowntime', 'web1', '500')).exitCode).toBeUndefined();
    const got = await vmhop('migrate-getspeed', 'web1');
    expect(JSON.parse(got.stdout)).toMatchObject({ vm: 'web1', bandwidthMiBs: null });
    expect(requests).toEqual([
      { method: 'POST', url: '/v1/vms/web1/job/speed', body: '{"mibPerS":0}' },
      { method: 'POST', url: '/v1/vms/web1/job/max-downtime', body: '{"ms":500}' },
      { method: 'GET', url: '/v1/vms/web1/job/speed', body: '' },
    ]);
  });

  it('is offered by bash completion', async () => {
    const script = (await runVmhop('completion', 'bash')).stdout;
    for (const verb of ['migrate-setspeed', 'migrate-setmaxdowntime', 'migrate-getspeed'])
      expect(script).toContain(verb);
  });
});
