// The small readers both ends of the API share: an error answer's body, and the table between a
// job's unhappy end state and its error code (the engine reads it one way, the CLI the other).
import { describe, expect, it } from 'vitest';
import { knownErrorCode, readErrorBody } from './errors.js';
import { endOfErrorCode, errorCodeOfEnd } from './migration.js';

describe('readErrorBody', () => {
  it('reads the {error} document', () => {
    const text = JSON.stringify({
      error: { code: 'VMHOP_ERR_VM_NOT_FOUND', message: 'no web1', details: { vm: 'web1' } },
    });
    expect(readErrorBody(text)).toEqual({
      code: 'VMHOP_ERR_VM_NOT_FOUND',
      message: 'no web1',
      details: { vm: 'web1' },
    });
  });

  it.each(['<html>bad gateway</html>', 'null', '{}', ''])('says nothing usable of %j', (text) => {
    expect(readErrorBody(text)).toEqual({ code: 'VMHOP_ERR_INTERNAL', message: undefined, details: {} });
  });

  it('keeps a code this version does not know as sent, and raises it as internal', () => {
    const body = readErrorBody(
      JSON.stringify({ error: { code: 'VMHOP_ERR_FROM_THE_FUTURE', message: 'm' } }),
    );
    expect(body.code).toBe('VMHOP_ERR_FROM_THE_FUTURE');
    expect(knownErrorCode(body.code)).toBe('VMHOP_ERR_INTERNAL');
  });
});

describe('job end states and error codes', () => {
  it.each([
    ['failed', 'VMHOP_ERR_MIGRATION_FAILED'],
    ['cancelled', 'VMHOP_ERR_MIGRATION_CANCELLED'],
    ['interrupted', 'VMHOP_ERR_MIGRATION_INTERRUPTED'],
    ['needs-operator', 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN'],
  ] as const)('%s <-> %s', (state, code) => {
    expect(errorCodeOfEnd(state)).toBe(code);
    expect(endOfErrorCode(code)).toBe(state);
  });

  it('calls any other error failed, and a job still running a failure', () => {
    expect(endOfErrorCode('VMHOP_ERR_QMP')).toBe('failed');
    expect(errorCodeOfEnd('running')).toBe('VMHOP_ERR_MIGRATION_FAILED');
  });
});
