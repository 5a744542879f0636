// TCP reachability between test-bed hosts, checked from inside their namespaces with
// short-lived node processes (bounded: one connection, a few seconds at most).
import { execa } from 'execa';
import type { HostPlan } from '../../../src/testbed/plan.js';
import { nsenterArgs } from '../../../src/testbed/host-exec.js';

const LISTEN = `
const net = require('node:net');
const s = net.createServer((c) => { c.end('pong\\n'); });
s.listen(Number(process.argv[2]), process.argv[1], () => console.log('listening'));
setTimeout(() => process.exit(0), Number(process.argv[3]));
`;

const CONNECT = `
const net = require('node:net');
const c = net.connect({ host: process.argv[1], port: Number(process.argv[2]) });
const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, Number(process.argv[3]));
c.on('data', (d) => { console.log(String(d).trim()); clearTimeout(t); c.destroy(); });
c.on('error', (e) => { console.log('error ' + e.code); clearTimeout(t); });
`;

/** Starts a one-shot TCP listener on `host`; resolves once it listens. Returns a stopper. */
export async function listenOn(host: HostPlan, address: string, port: number, lifetimeMs: number) {
  const child = execa(
    'nsenter',
    [...nsenterArgs(host), process.execPath, '-e', LISTEN, address, String(port), String(lifetimeMs)],
    {
      reject: false,
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    void child.then((r) => reject(new Error(`listener exited: ${r.stderr}`)));
  });
  return { stop: () => child.kill('SIGTERM') };
}

/** 'pong' when the listener answered, 'timeout' when packets vanished, 'error CODE' otherwise. */
export async function connectFrom(
  host: HostPlan,
  address: string,
  port: number,
  timeoutMs: number,
): Promise<string> {
  const r = await execa(
    'nsenter',
    [...nsenterArgs(host), process.execPath, '-e', CONNECT, address, String(port), String(timeoutMs)],
    {
      reject: false,
      timeout: timeoutMs + 5_000,
    },
  );
  return r.stdout.trim();
}
