// fastify's validator and serializer compilers for zod schemas, as fastify-type-provider-zod
// has them (same validation error shape, same serialization error), without loading that
// package: its index also loads zod-to-json-schema, which only the OpenAPI document needs
// (openapi.ts loads it then). The serializer also skips the zod check of a body it passed before.
import type { FastifySchemaCompiler } from 'fastify';
import type { ZodError, ZodIssue, ZodTypeAny } from 'zod';

/** The marker fastify-type-provider-zod puts on its validation errors; errors.ts looks for it. */
const VALIDATION = Symbol.for('ZodFastifySchemaValidationError');
/** The longest body a serializer remembers: one per route, so an agent keeps at most a few MiB. */
const MEMO_MAX_CHARS = 128 * 1024;

export interface ZodValidationIssue {
  [VALIDATION]: true;
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: { issue: ZodIssue };
  message: string;
}

export const validatorCompiler: FastifySchemaCompiler<ZodTypeAny> =
  ({ schema }) =>
  (data) => {
    const r = schema.safeParse(data);
    if (r.success) return { value: r.data as unknown };
    return { error: validationIssues(r.error) as unknown as Error };
  };

function validationIssues(e: ZodError): ZodValidationIssue[] {
  return e.issues.map((issue) => ({
    [VALIDATION]: true,
    keyword: issue.code,
    instancePath: `/${issue.path.join('/')}`,
    schemaPath: `#/${issue.path.join('/')}/${issue.code}`,
    params: { issue },
    message: issue.message,
  }));
}

/** A request fastify refused because its params, query or body failed the route's zod schema. */
export function hasZodValidationIssues(e: unknown): e is Error & { validation: ZodValidationIssue[] } {
  const v = (e as { validation?: unknown } | null)?.validation;
  return Array.isArray(v) && v.length > 0 && (v[0] as Record<symbol, unknown>)[VALIDATION] === true;
}

/** A handler answered with a body its route's response schema refuses: a bug, answered with a 500. */
export class ResponseSerializationError extends Error {
  readonly code = 'FST_ERR_RESPONSE_SERIALIZATION';
  readonly statusCode = 500;
  override readonly name = 'FastifyError';
  constructor(
    readonly method: string,
    readonly url: string,
    options: { cause: ZodError },
  ) {
    super("Response doesn't match the schema", options);
  }
}

/**
 * The body as the route's schema passes it, as JSON. A route's last body that the schema passed
 * unchanged is remembered as text, and the same text again is answered without the zod check:
 * `list` answers the same VMs over and over, and checking 50 of them allocated ~0.9 MiB a call
 * (issue 14 §4). Sound because our response schemas judge JSON values only (no dates, no
 * transforms), so a body with the same JSON text passes the same way.
 */
export const serializerCompiler = ({
  schema,
  method,
  url,
}: {
  schema: unknown;
  method: string;
  url: string;
}): ((data: unknown) => string) => {
  let passed: string | undefined;
  return (data) => {
    const zod = zodOf(schema);
    const text = jsonOrUndefined(data);
    if (text !== undefined && text === passed) return text;
    const r = zod.safeParse(data);
    if (!r.success) throw new ResponseSerializationError(method, url, { cause: r.error });
    const out = JSON.stringify(r.data);
    passed = out === text && out.length <= MEMO_MAX_CHARS ? out : undefined;
    return out;
  };
};

function zodOf(schema: unknown): ZodTypeAny {
  if (schema && typeof schema === 'object') {
    if ('safeParse' in schema) return schema as ZodTypeAny;
    if ('properties' in schema) return schema.properties as ZodTypeAny;
  }
  throw new Error(`Invalid schema passed: ${JSON.stringify(schema)}`);
}

/** A body zod may still pass that JSON cannot hold (a cycle, a bigint) fails later, as before. */
function jsonOrUndefined(data: unknown): string | undefined {
  try {
    return JSON.stringify(data);
  } catch {
    return undefined;
  }
}
