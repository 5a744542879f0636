import { describe, expect, it } from 'vitest';
import { consoleLines, scanConsole } from './console-scan.js';

const ticks = (from: number, n: number) => Array.from({ length: n }, (_, i) => `tick ${from + i}\n`).join('');

// The shape of what QEMU 7.2 under TCG left on the target's console a few seconds after a
// live migration that reported `completed` (kernel lines end in \r\n, the daemon's in \n).
const PANIC = [
  '[  412.118230] BUG: unable to handle page fault for address: ffff9c6a0355f000\r\n',
  '[  412.118702] #PF: supervisor read access in kernel mode\r\n',
  '[  412.119013] Oops: 0000 [#1] PREEMPT SMP NOPTI\r\n',
  '[  412.119380] RIP: 0010:memcmp+0x1c/0x40\r\n',
  '[  412.121911] Kernel panic - not syncing: Fatal exception\r\n',
  '[  412.122301] Rebooting in 1 seconds..\r\n',
].join('');

describe('scanConsole', () => {
  it('finds nothing in a healthy guest: heartbeat, disk acks, the ready line', () => {
    const text =
      ticks(1, 30) +
      'disk ack 635\nvmhop-guest ready ip=10.77.0.5 port=7777 version=1.1.0 uptime_ms=1919 boot_id=4d05-x\n' +
      ticks(31, 30);
    expect(scanConsole(text)).toEqual({ hits: [], context: [] });
  });

  it('finds a page-fault oops and panic, and gives the trace without the heartbeat around it', () => {
    const scan = scanConsole(ticks(900, 20) + PANIC + ticks(1, 5) + 'vmhop-guest ready ip=10.77.0.5\n');
    expect(scan.hits).toEqual([
      '[  412.118230] BUG: unable to handle page fault for address: ffff9c6a0355f000',
      '[  412.119013] Oops: 0000 [#1] PREEMPT SMP NOPTI',
      '[  412.121911] Kernel panic - not syncing: Fatal exception',
    ]);
    expect(scan.context[0]).toMatch(/BUG: unable to handle page fault/);
    expect(scan.context).toContain('[  412.122301] Rebooting in 1 seconds..');
    expect(scan.context.at(-1)).toBe('vmhop-guest ready ip=10.77.0.5');
    expect(scan.context.some((l) => l.startsWith('tick '))).toBe(false);
  });

  it('finds a general protection fault and a daemon that died', () => {
    const gp = '[   99.1] general protection fault, probably for non-canonical address 0xdead: 0000 [#1]\r\n';
    expect(scanConsole(gp).hits).toHaveLength(1);
    expect(scanConsole('vmhop-init: vmhop-guestd exited rc=139\n').hits).toHaveLength(1);
  });

  it('does not take words that merely contain the patterns for trouble', () => {
    expect(scanConsole('DEBUG: fine\nWhoopsie\nmy BUGS\n').hits).toEqual([]);
  });

  it('caps the context so a console full of traces stays readable', () => {
    const scan = scanConsole(PANIC.repeat(40));
    expect(scan.hits).toHaveLength(120);
    expect(scan.context).toHaveLength(60);
  });

  it('splits \\r\\n and \\n lines and drops empty ones', () => {
    expect(consoleLines('a\r\nb\n\nc\r\n')).toEqual(['a', 'b', 'c']);
  });
});
