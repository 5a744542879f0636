// fastify's zod compilers: bodies leave as the schema passes them, a body passed before is not
// checked again, and a refused one is a serialization error; refused requests carry the issues
// errors.ts turns into VMHOP_ERR_USAGE.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ResponseSerializationError,
  hasZodValidationIssues,
  serializerCompiler,
  validatorCompiler,
} from './zod-compilers.js';

/** A schema that counts how often zod checks a body with it. */
function counted() {
  const seen = { checks: 0 };
  const schema = z
    .object({ vms: z.array(z.object({ name: z.string(), vcpus: z.number().default(1) })) })
    .superRefine(() => void seen.checks++);
  return { seen, schema };
}

describe('zod compilers', () => {
  it('answers with the body as the schema passes it: defaults filled, unknown keys left out', () => {
    const { schema } = counted();
    const serialize = serializerCompiler({ schema, method: 'GET', url: '/v1/vms' });
    const body = { vms: [{ name: 'a', extra: true }] };
    expect(serialize(body)).toBe('{"vms":[{"name":"a","vcpus":1}]}');
    expect(serialize(body)).toBe('{"vms":[{"name":"a","vcpus":1}]}');
  });

  it('checks a body it passed unchanged only once, and a changed one again', () => {
    const { seen, schema } = counted();
    const serialize = serializerCompiler({ schema, method: 'GET', url: '/v1/vms' });
    const body = () => ({ vms: [{ name: 'a', vcpus: 2 }] });
    expect(serialize(body())).toBe(JSON.stringify(body()));
    expect(serialize(body())).toBe(JSON.stringify(body()));
    expect(seen.checks).toBe(1);
    expect(serialize({ vms: [{ name: 'b', vcpus: 2 }] })).toBe('{"vms":[{"name":"b","vcpus":2}]}');
    expect(seen.checks).toBe(2);
  });

  it('refuses a body the schema does not pass, even right after passing another', () => {
    const { schema } = counted();
    const serialize = serializerCompiler({ schema, method: 'GET', url: '/v1/vms' });
    serialize({ vms: [{ name: 'a', vcpus: 2 }] });
    let thrown: unknown;
    try {
      serialize({ vms: [{ name: 7, vcpus: 2 }] });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ResponseSerializationError);
    expect(thrown).toMatchObject({
      code: 'FST_ERR_RESPONSE_SERIALIZATION',
      statusCode: 500,
      method: 'GET',
      url: '/v1/vms',
      message: "Response doesn't match the schema",
    });
  });

  it('hands a refused request the issues with their paths, and passes a good one as zod parsed it', () => {
    const validate = validatorCompiler({
      schema: z.object({ spec: z.object({ memoryMiB: z.number().default(128) }) }),
      method: 'POST',
      url: '/v1/vms',
      httpPart: 'body',
    });
    expect(validate({ spec: {} })).toEqual({ value: { spec: { memoryMiB: 128 } } });
    const { error } = validate({ spec: { memoryMiB: 'lots' } }) as { error: unknown };
    const refused = Object.assign(new Error('bad request'), { validation: error });
    expect(hasZodValidationIssues(refused)).toBe(true);
    expect(refused.validation).toMatchObject([
      {
        keyword: 'invalid_type',
        instancePath: '/spec/memoryMiB',
        message: 'Expected number, received string',
      },
    ]);
    expect(hasZodValidationIssues(Object.assign(new Error('x'), { validation: [{ message: 'ajv' }] }))).toBe(
      false,
    );
  });
});
