// The pre-flight's protocol check: the agent-to-agent protocol version a job speaks with its
// target, the newest both agents speak (rolling upgrades, protocol/protocol-version.ts), read from
// the target's host facts. Without one in common it names both ranges and which host to upgrade.
import { VmhopError } from '../../protocol/errors.js';
import {
  commonVersion,
  OUR_PROTOCOLS,
  rangeOf,
  showRange,
  upgradeAdvice,
  type VersionRange,
} from '../../protocol/protocol-version.js';
import type { PeerLink } from '../peers/peer-link.js';

/** The version every message of the job carries, or why the two agents have none in common. */
export type ProtocolChoice =
  { version: number; detail: string } | { version?: never; detail: string; fix: string };

export function chooseProtocol(
  hosts: { self: string; peer: string },
  target: { protocolVersion: number; protocolVersions?: VersionRange },
  ours: VersionRange = OUR_PROTOCOLS,
): ProtocolChoice {
  const theirs = rangeOf(target);
  const version = commonVersion(theirs, ours);
  const ranges = `\`${hosts.peer}\` speaks vmhop protocol ${showRange(theirs)}, this agent (\`${hosts.self}\`) ${showRange(ours)}`;
  if (version === undefined) return { detail: `target ${ranges}`, fix: upgradeAdvice(hosts, theirs, ours) };
  return { version, detail: `speaking vmhop protocol ${version} with the target: ${ranges}` };
}

/**
 * The version a job without a pre-flight (a volume copy) speaks with `peer`, asked of its host
 * facts; refused as a pre-flight would refuse it when the two agents have none in common.
 */
export async function agreeProtocol(self: string, peer: PeerLink): Promise<number> {
  const choice = chooseProtocol({ self, peer: peer.name }, await peer.hostInfo());
  if (choice.version !== undefined) return choice.version;
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_PREFLIGHT',
    `pre-flight failed, nothing was moved: protocol: ${choice.detail} (fix: ${choice.fix})`,
    { checks: [{ name: 'protocol', ok: false, detail: choice.detail, fix: choice.fix }] },
  );
}
