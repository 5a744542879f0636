// The HTTP edge of "errors are data": every failure leaves as
// {error: {code, message, details}} with the catalogue's status. zod validation failures
// become VMHOP_ERR_USAGE naming the field, QEMU's refusals VMHOP_ERR_QMP with the command;
// anything unexpected is VMHOP_ERR_INTERNAL.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { VmhopError, isVmhopError } from '../../protocol/errors.js';
import { fromQmp } from '../../qmp/as-vmhop-error.js';
import { hasZodValidationIssues } from './zod-compilers.js';

/** The value a validation error is about, so the message can name it. */
function valueAt(
  req: FastifyRequest | undefined,
  context: string | undefined,
  instancePath: string,
): unknown {
  const root = context === 'params' ? req?.params : context === 'querystring' ? req?.query : req?.body;
  return instancePath
    .split('/')
    .filter(Boolean)
    .reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      root,
    );
}

export function toVmhopError(e: unknown, req?: FastifyRequest): VmhopError {
  if (isVmhopError(e)) return e;
  const qmp = fromQmp(e);
  if (qmp) return qmp;
  if (hasZodValidationIssues(e)) {
    const context = (e as { validationContext?: string }).validationContext;
    const issues = e.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replaceAll('/', '.') || `(${context ?? 'body'})`;
      const value = valueAt(req, context, v.instancePath);
      const shown =
        value === undefined || typeof value === 'object'
          ? ''
          : typeof value === 'string'
            ? ` (got \`${value}\`)`
            : ` (got ${JSON.stringify(value)})`;
      return `${path}: ${v.message}${shown}`;
    });
    return new VmhopError('VMHOP_ERR_USAGE', `invalid request: ${issues.join('; ')}`, { issues });
  }
  const fe = e as FastifyError;
  if (fe.statusCode === 413) {
    return new VmhopError('VMHOP_ERR_REQUEST_TOO_LARGE', fe.message, { fastifyCode: fe.code });
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new VmhopError('VMHOP_ERR_USAGE', fe.message, { fastifyCode: fe.code });
  }
  return new VmhopError('VMHOP_ERR_INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`, {}, e);
}

export function errorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const err = toVmhopError(e, req);
  if (err.code === 'VMHOP_ERR_INTERNAL') req.log.error({ err: e }, 'internal error');
  void reply.status(err.status).send({ error: err.toJSON() });
}
