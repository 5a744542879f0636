import { describe, expect, it } from 'vitest';
import { commandFailed, QmpError } from './errors.js';
import { fromQmp } from './as-vmhop-error.js';

describe('fromQmp', () => {
  it('keeps the command, arguments, class and text of a refused command as VMHOP_ERR_QMP', () => {
    const e = fromQmp(
      commandFailed(
        'blockdev-mirror',
        { device: 'vda', target: 'nbd-vda' },
        'GenericError',
        'Permission conflict',
      ),
    );
    expect(e).toMatchObject({
      code: 'VMHOP_ERR_QMP',
      status: 502,
      message: 'QMP blockdev-mirror failed (GenericError): Permission conflict',
      details: {
        qmpCode: 'QMP_COMMAND_FAILED',
        command: 'blockdev-mirror',
        arguments: { device: 'vda', target: 'nbd-vda' },
        errorClass: 'GenericError',
        desc: 'Permission conflict',
      },
    });
  });

  it('bounds huge arguments to a preview, and leaves other errors alone', () => {
    const e = fromQmp(commandFailed('object-add', { blob: 'x'.repeat(10_000) }, 'GenericError', 'no'));
    expect(String(e?.details.arguments)).toMatch(/… \(10\d{3} chars\)$/);
    expect(fromQmp(new Error('plain'))).toBeUndefined();
    expect(fromQmp(new QmpError('QMP_DISCONNECTED', 'QEMU closed the QMP connection'))).toMatchObject({
      code: 'VMHOP_ERR_QMP',
      details: { qmpCode: 'QMP_DISCONNECTED' },
    });
  });
});
