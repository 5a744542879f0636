// What the fuzzer sends: hostile strings for body fields, hostile URL path segments and query
// strings, wrong-typed values, malformed JSON texts and deep or huge bodies. Every absolute
// path in here is either read-only on the host (/etc/passwd, /dev/null: stat'ed, never
// written) or lies inside the test's sandbox; none names an existing directory or block
// device, so no valid request built from them could make a pool of a real system path.

/** Hostile strings for a JSON string field; `sb` is the sandbox (its `outside/victim` is a decoy). */
export function hostileStrings(sb: string): string[] {
  return [
    '',
    ' ',
    '.',
    '..',
    '../../../../etc/passwd',
    '..%2f..%2fetc%2fpasswd',
    '%2e%2e%2f%2e%2e%2f',
    'a/b',
    'a\\b',
    'a\0b',
    '\0',
    '\xc0\xae\xc0\xae/', // overlong UTF-8 of `../`, as the code points a latin1 reading gives
    '\u202egpj.exe',
    '\ud800', // a lone surrogate
    '/dev/../etc/passwd',
    '/etc/passwd',
    `${sb}/outside/victim`,
    `/dev/..${sb}/outside/victim`,
    `${sb}/dev/../etc/passwd`,
    `${sb}/outside/../outside/victim`,
    'x'.repeat(10_000),
    '-rf',
    'a,b=c',
    'file:/etc/passwd',
    '$(touch /tmp/vmhop-fuzz-pwned)',
    'a\nb',
    '__proto__',
    'constructor',
    'toString',
    '%00',
    '%',
  ];
}

/** Strings of hostileStrings() that are valid VM, pool and volume names all the same. */
export const VALID_NAMES = new Set(['constructor', 'toString']);

/** Hostile path segments, placed in the URL as they are (already percent-encoded where they should be). */
export const HOSTILE_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '.%2e',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%252e%252e%252f',
  '%2Fetc%2Fpasswd',
  '%00',
  'web1%00',
  'a%00b',
  '%c0%ae%c0%ae%c0%af',
  '%e0%80%ae',
  '%',
  '%zz',
  '%E0%A4%A',
  '%ff%fe',
  'x'.repeat(10_000),
  'a%0ab',
  'a%20b',
  '__proto__',
  'constructor',
  '%5F%5Fproto%5F%5F',
  'web1%2f..%2f..',
  '-',
  '%2Fdev%2F..%2Fetc%2Fpasswd',
];

/** Hostile query strings (what follows `?`), for every route whether it has a query schema or not. */
export const HOSTILE_QUERIES = [
  'bytes=-1',
  'bytes=1e309',
  'bytes=NaN',
  'bytes=0x10',
  'bytes[]=1',
  'bytes=1&bytes=2',
  'run=__proto__',
  'run=%00',
  '__proto__[polluted]=1',
  '__proto__.polluted=1',
  'constructor[prototype][polluted]=1',
  'force=maybe',
  'force=true&force=false',
  'force=%00',
  'key=' + 'a'.repeat(10_000),
  '%',
  '%zz=1',
  '&&&==',
  'a=1;b=2',
  'x=%c0%ae%c0%ae',
];

/** Values of another type than `v` (the field's value in a valid body). */
export function wrongTypes(v: unknown): unknown[] {
  const others = [null, 0, -1, 1.5, true, 'x', [], {}, ['x'], { a: 1 }];
  const same = (x: unknown) =>
    typeof x === typeof v && Array.isArray(x) === Array.isArray(v) && (x === null) === (v === null);
  return others.filter((x) => !same(x));
}

/** Numbers of the right type that are still out of range somewhere. */
export const EXTREME_NUMBERS = [0, -1, -0.5, 1.5, 2 ** 31, 2 ** 53 + 2, 1e300, -1e300, Number.MAX_VALUE];

/** JSON texts that are not JSON, or not what a route's body is. */
export const MALFORMED_JSON = [
  '{',
  '{"a":',
  '[1,2',
  'nul',
  '{"a":1}}',
  '{"a":1,}',
  "{'a':1}",
  '\ufeff{"a":1}',
  '{"a":"\\x00"}',
  '{"a":"\\ud800"}',
  '{"a":1e99999}',
  '"just a string"',
  '123',
  'null',
  '[]',
  '',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"a":1,"a":2}',
];

/** `depth` nested arrays, or objects `{"a":...}`. */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A JSON body over the agent's 4 MiB limit. */
export const HUGE_BODY = `{"name":"${'x'.repeat(5 * 1024 * 1024)}"}`;
