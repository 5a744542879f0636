// Which commands the fake QEMU accepts and how it refuses arguments, as QEMU 10.0.2 does: the
// command set and migrate-set-parameters' members come from the recorded query-qmp-schema
// (test/fixtures/qmp/10.0/qmp-schema.json, trimmed to the commands and that one type), the
// capability names from the recorded query-migrate-capabilities. The arguments of the other
// commands the agent sends are listed here from QEMU's qapi; a command of the schema that the
// fake does not simulate is refused with a message that says so, so a gap shows as a failure.
import type { QmpWireError } from '../../src/qmp/messages.js';
import { loadTranscript, recordedReply } from '../../src/qmp/testing/transcript.js';

type Kind = 'str' | 'int' | 'bool' | 'object' | 'array' | 'any';
interface Member {
  type: Kind;
  optional?: boolean;
  values?: readonly string[];
}
type Members = Record<string, Member>;

interface SchemaInfo {
  name: string;
  'meta-type': string;
  'arg-type'?: string;
  members?: { name: string; type: string; default?: null }[];
  values?: string[];
}

const schemaTranscript = loadTranscript('qmp-schema', '10.0');
const schema = (recordedReply(schemaTranscript, 'query-qmp-schema') as { return: SchemaInfo[] }).return;
export const recordedCapabilities = (
  recordedReply(schemaTranscript, 'query-migrate-capabilities') as { return: { capability: string }[] }
).return.map((c) => c.capability);

const commands = new Set(schema.filter((i) => i['meta-type'] === 'command').map((i) => i.name));

/** The recorded members of a command's argument type (only migrate-set-parameters' survived the trim). */
function recordedMembers(command: string): Members | undefined {
  const argType = schema.find((i) => i.name === command)?.['arg-type'];
  const object = schema.find((i) => i.name === argType && i['meta-type'] === 'object');
  if (!object?.members) return undefined;
  const members: Members = {};
  for (const m of object.members) {
    const builtin = ({ int: 'int', bool: 'bool', str: 'str' } as const)[m.type as 'int' | 'bool' | 'str'];
    const en = schema.find((i) => i.name === m.type && i['meta-type'] === 'enum');
    members[m.name] = {
      type: builtin ?? (m.type.startsWith('[') ? 'array' : en ? 'str' : 'any'),
      optional: 'default' in m,
      ...(en?.values ? { values: en.values } : {}),
    };
  }
  return members;
}

const opt = (type: Kind, values?: readonly string[]): Member => ({
  type,
  optional: true,
  ...(values ? { values } : {}),
});
const req = (type: Kind, values?: readonly string[]): Member => ({ type, ...(values ? { values } : {}) });
const none: Members = {};
const MIGRATION_STATUS = ['none', 'setup', 'cancelling', 'cancelled', 'active', 'postcopy-active',
  'postcopy-paused', 'postcopy-recover-setup', 'postcopy-recover', 'completed', 'failed', 'colo',
  'pre-switchover', 'device', 'wait-unplug'] as const; // prettier-ignore

/** From QEMU 10.0's qapi/*.json, for the commands the agent sends and the fake simulates. */
const ARGUMENTS: Record<string, Members> = {
  qmp_capabilities: { enable: opt('array') },
  'query-status': none,
  'query-version': none,
  'query-machines': { 'compat-props': opt('bool') },
  'query-cpu-definitions': none,
  'query-qmp-schema': none,
  'query-migrate': none,
  'query-migrate-capabilities': none,
  'query-migrate-parameters': none,
  'migrate-set-capabilities': { capabilities: req('array') },
  'migrate-set-parameters': recordedMembers('migrate-set-parameters') ?? {},
  migrate: { uri: opt('str'), channels: opt('array'), detach: opt('bool'), resume: opt('bool') },
  'migrate-incoming': { uri: opt('str'), channels: opt('array'), 'exit-on-error': opt('bool') },
  'migrate-continue': { state: req('str', MIGRATION_STATUS) },
  migrate_cancel: none,
  'migrate-start-postcopy': none,
  'migrate-pause': none,
  'migrate-recover': { uri: req('str') },
  'blockdev-del': { 'node-name': req('str') },
  'block-job-complete': { device: req('str') },
  'block-job-cancel': { device: req('str'), force: opt('bool') },
  'nbd-server-stop': none,
  'block-export-del': { id: req('str'), mode: opt('str', ['safe', 'hard']) },
  cont: none,
  stop: none,
  quit: none,
  system_powerdown: none,
  system_reset: none,
  'object-add': { 'qom-type': req('str'), id: req('str'), dir: opt('str'), endpoint: opt('str', ['client', 'server']), 'verify-peer': opt('bool'), priority: opt('str'), 'sanity-check': opt('bool'), passwordid: opt('str'), identity: opt('str'), filename: opt('str'), refresh: opt('bool') }, // prettier-ignore
  'object-del': { id: req('str') },
};

const EXPECTED: Record<Kind, string> = {
  str: 'string',
  int: 'integer',
  bool: 'boolean',
  object: 'object',
  array: 'array',
  any: 'any',
};

function kindOf(value: unknown): Kind {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'any';
  if (Array.isArray(value)) return 'array';
  return value !== null && typeof value === 'object' ? 'object' : 'any';
}

const generic = (desc: string): QmpWireError => ({ class: 'GenericError', desc });

/** Checks `value` against `members` as QEMU's QObject input visitor does; `path` prefixes names. */
function checkMembers(members: Members, value: Record<string, unknown>, path = ''): QmpWireError | undefined {
  for (const [name, m] of Object.entries(members)) {
    const v = value[name];
    if (v === undefined) {
      if (!m.optional) return generic(`Parameter '${path}${name}' is missing`);
      continue;
    }
    // StrOrNull members (tls-creds and the like) take null as well.
    if (m.type !== 'any' && kindOf(v) !== m.type && !(v === null && m.type === 'str'))
      return generic(`Invalid parameter type for '${path}${name}', expected: ${EXPECTED[m.type]}`);
    if (m.values && typeof v === 'string' && !m.values.includes(v))
      return generic(`Parameter '${path}${name}' does not accept value '${v}'`);
  }
  const extra = Object.keys(value).find((k) => !(k in members));
  return extra === undefined ? undefined : generic(`Parameter '${path}${extra}' is unexpected`);
}

const CAPABILITY: Members = { capability: req('str', recordedCapabilities), state: req('bool') };

/** QEMU's refusal of `execute` with `args`, or undefined when it would run the command. */
export function checkCommand(execute: string, args: unknown): QmpWireError | undefined {
  if (!commands.has(execute) && execute !== 'qmp_capabilities')
    return { class: 'CommandNotFound', desc: `The command ${execute} has not been found` };
  const members = ARGUMENTS[execute];
  if (!members) return generic(`the fake QEMU does not simulate ${execute} (test/fake-qemu/qmp-check.ts)`);
  if (args !== undefined && kindOf(args) !== 'object')
    return generic(`QMP input member 'arguments' must be an object`);
  const given = (args ?? {}) as Record<string, unknown>;
  const error = checkMembers(members, given);
  if (error || execute !== 'migrate-set-capabilities') return error;
  for (const [i, c] of (given['capabilities'] as unknown[]).entries()) {
    if (kindOf(c) !== 'object')
      return generic(`Invalid parameter type for 'capabilities[${i}]', expected: object`);
    // QEMU names the member alone in these (errors.json: "Parameter 'capability' does not accept value").
    const e = checkMembers(CAPABILITY, c as Record<string, unknown>);
    if (e) return e;
  }
  return undefined;
}
