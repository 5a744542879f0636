// The agent's certificate in `host info`: its end, and a warning naming the fix from 30 days before.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initCa, issueHostCert, type IssuedCert } from '../../credentials/ca.js';
import { certificateStatus, watchCertificate } from './certificate-status.js';

const DAY_MS = 86_400_000;
let dir: string;
let c: IssuedCert;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-cert-status-'));
  await initCa(join(dir, 'ca'));
  c = await issueHostCert(join(dir, 'ca'), join(dir, 'tls'), 'host1', { ips: ['10.0.0.11'] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('certificateStatus', () => {
  it('reports the end of a fresh certificate without a warning', () => {
    const s = certificateStatus(c.cert, 'host1');
    expect(s).toEqual({ file: c.cert, subject: 'CN=host1', notAfter: c.notAfter, daysLeft: 824 });
  });

  it('warns with the renew command when fewer than 30 days remain', () => {
    const end = new Date(c.notAfter).getTime();
    expect(certificateStatus(c.cert, 'host1', end - 30 * DAY_MS).warning).toBeUndefined();
    const s = certificateStatus(c.cert, 'host1', end - 29.5 * DAY_MS);
    expect(s.daysLeft).toBe(29);
    expect(s.warning).toBe(
      `the certificate ${c.cert} expires on ${c.notAfter} (29 days left): renew it with \`vmhop ca renew host1 --out ${join(dir, 'tls')}\` on the CA's machine, copy the folder here and restart vmhop-agent`,
    );
  });

  it('says when it has expired', () => {
    const s = certificateStatus(c.cert, 'host1', new Date(c.notAfter).getTime() + 2 * DAY_MS);
    expect(s.daysLeft).toBe(-2);
    expect(s.warning).toMatch(`expired on ${c.notAfter}`);
  });

  it('turns an unreadable file into a warning, not a failed host info', () => {
    const s = certificateStatus(join(dir, 'missing.pem'), 'host1');
    expect(s).toEqual({
      file: join(dir, 'missing.pem'),
      warning: expect.stringMatching(/cannot read the certificate/),
    });
  });
});

describe('watchCertificate', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the end at start, and warns daily once 30 days remain', () => {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const end = new Date(c.notAfter).getTime();
    vi.useFakeTimers({ now: end - 31 * DAY_MS, toFake: ['Date', 'setInterval'] });
    watchCertificate(c.cert, 'host1', log);
    expect(lines).toEqual([expect.objectContaining({ level: 30, msg: 'TLS certificate' })]);
    vi.advanceTimersByTime(DAY_MS);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(DAY_MS);
    expect(lines[1]).toMatchObject({ level: 40, msg: expect.stringMatching(/\(29 days left\): renew it/) });
  });
});
