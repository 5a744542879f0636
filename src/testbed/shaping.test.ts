import { describe, expect, it } from 'vitest';
import { shapingCommands, tbfBurstBytes, validateShaping } from './shaping.js';

describe('shapingCommands', () => {
  it('clears only, when nothing is asked for', () => {
    expect(shapingCommands('mig0', {})).toEqual([['qdisc', 'del', 'dev', 'mig0', 'root']]);
  });

  it('shapes a rate with tbf at the root', () => {
    expect(shapingCommands('mig0', { rate: '100mbit' })).toEqual([
      ['qdisc', 'del', 'dev', 'mig0', 'root'],
      [
        'qdisc',
        'add',
        'dev',
        'mig0',
        'root',
        'handle',
        '1:',
        'tbf',
        'rate',
        '100mbit',
        'burst',
        '125000',
        'latency',
        '400ms',
      ],
    ]);
  });

  it('puts netem under tbf for rate plus delay and loss', () => {
    const cmds = shapingCommands('mig0', { rate: '1gbit', delay: '20ms', loss: '1%' });
    expect(cmds[2]).toEqual([
      'qdisc',
      'add',
      'dev',
      'mig0',
      'parent',
      '1:1',
      'handle',
      '10:',
      'netem',
      'limit',
      '100000',
      'delay',
      '20ms',
      'loss',
      '1%',
    ]);
  });

  it('uses netem alone for delay without a rate', () => {
    expect(shapingCommands('mig0', { delay: '5ms' })[1]).toEqual([
      'qdisc',
      'add',
      'dev',
      'mig0',
      'root',
      'handle',
      '10:',
      'netem',
      'limit',
      '100000',
      'delay',
      '5ms',
    ]);
  });

  it('keeps a tbf bucket of at least 32 KiB', () => {
    expect(tbfBurstBytes('1mbit')).toBe(32 * 1024);
  });
});

describe('validateShaping', () => {
  it.each([
    [{ rate: '100' }, /--rate 100 is not valid; expected e.g. 100mbit/],
    [{ delay: 'soon' }, /--delay soon is not valid/],
    [{ loss: '1' }, /--loss 1 is not valid; expected e.g. 1%/],
  ])('names the bad value and an example: %o', (s, msg) => {
    expect(() => validateShaping(s)).toThrow(msg);
  });
});
