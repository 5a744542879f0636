// The agent-to-agent protocol versions this vmhop speaks, and the one two agents speak to each
// other, so a fleet is upgraded one host at a time (rolling upgrades). A job's source picks the
// version at its pre-flight and every message of the job carries it; the target takes any version
// of its range. What a version changed on the wire is asked of `speaks`, never of a number in place.

/**
 * The newest version this agent speaks. 2: an offline volume ends with `POST /sync` on the
 * target's data listener (a 1 answers 404 there), and a live prepare carries the source's commit
 * window (a 1 would commit a finish it takes too late). 3: an agent speaks a range (this one and
 * the previous) and says so in its host facts (`protocolVersions`); no message changed.
 */
export const PROTOCOL_VERSION = 3;
/** The oldest version this agent still speaks: the previous one, so its neighbours can lag one upgrade. */
export const MIN_PROTOCOL_VERSION = 2;

export interface VersionRange {
  min: number;
  max: number;
}

export const OUR_PROTOCOLS: VersionRange = { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION };

/**
 * The first version that has each change on the wire. A difference between versions is one entry
 * here and one `speaks(job version, feature)` where it is sent or read. A new optional field needs
 * none (an older agent's schemas drop what they do not know); a change an older agent would act on
 * wrongly, or a new route, does.
 */
const SINCE = {
  /** An offline volume ends with `POST /sync` on the target's data listener. */
  'offline-sync': 2,
  /** A live prepare carries `commitWindowMs`. */
  'commit-window': 2,
} as const;
export type ProtocolFeature = keyof typeof SINCE;

export function speaks(version: number, feature: ProtocolFeature): boolean {
  return version >= SINCE[feature];
}

/**
 * The versions a host speaks, from its host facts. Agents before 3 report only `protocolVersion`
 * (the one they speak); from 3 on, `protocolVersion` is the oldest of the range, the field those
 * agents compare with their own.
 */
export function rangeOf(info: { protocolVersion: number; protocolVersions?: VersionRange }): VersionRange {
  return info.protocolVersions ?? { min: info.protocolVersion, max: info.protocolVersion };
}

export const showRange = (r: VersionRange): string => `${r.min}..${r.max}`;

/** The newest version both ranges hold, or undefined when they hold none in common. */
export function commonVersion(a: VersionRange, b: VersionRange): number | undefined {
  const v = Math.min(a.max, b.max);
  return v >= Math.max(a.min, b.min) ? v : undefined;
}

/**
 * Which host to upgrade when `peer` (speaking `theirs`) and `self` (speaking `ours`) have no
 * version in common: the one whose newest version is older than the other's oldest.
 */
export function upgradeAdvice(
  hosts: { peer: string; self: string },
  theirs: VersionRange,
  ours: VersionRange = OUR_PROTOCOLS,
): string {
  return theirs.max < ours.min
    ? `upgrade \`${hosts.peer}\` to a vmhop that speaks ${ours.min} or later`
    : `upgrade \`${hosts.self}\` to a vmhop that speaks ${theirs.min} or later`;
}

/**
 * Why a message of `version` is refused by the agent it reached, or undefined when that agent
 * speaks it. Every agent-to-agent message goes from a job's source to its target.
 */
export function refusalOf(version: number, ours: VersionRange = OUR_PROTOCOLS): string | undefined {
  if (version >= ours.min && version <= ours.max) return undefined;
  const fix =
    version < ours.min
      ? `upgrade the source's agent to a vmhop that speaks ${ours.min} or later`
      : `upgrade this target's agent to a vmhop that speaks ${version}`;
  return `vmhop protocol ${version} is not one this target speaks (${showRange(ours)}): ${fix}`;
}
