// Assertions on the agent's error bodies: {error: {code, message, details}} with the
// catalogue's status, and a message that names the offending values.
import { expect } from 'vitest';
import type { ErrorCode } from '../../../src/protocol/errors.js';
import type { ApiReply } from './test-agent.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A pattern matching `value` literally, e.g. in a message. */
export const literally = (value: string | number): RegExp => new RegExp(escape(String(value)));

/** A pattern matching `value` between backticks, the way messages quote names. */
export const quoted = (value: string): RegExp => new RegExp('`' + escape(value) + '`');

/** Checks status, code and that the message matches every pattern; returns the error. */
export function expectApiError(
  res: ApiReply,
  status: number,
  code: ErrorCode,
  ...mentions: RegExp[]
): ErrorBody['error'] {
  const body = res.body as ErrorBody;
  expect({ status: res.status, code: body?.error?.code }, res.text).toEqual({ status, code });
  for (const m of mentions) expect(body.error.message).toMatch(m);
  return body.error;
}
