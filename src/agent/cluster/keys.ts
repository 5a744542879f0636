// The etcd key layout of cluster mode (docs/fleet-etcd.md, "What etcd holds"): one place that
// turns a host name or VM UUID into its key under the configured prefix. Only the keys this
// client reads and writes are here; load/ and jobs/ come with their users.
export interface ClusterKeys {
  prefix: string;
  membersPrefix: string;
  member(host: string): string;
  owner(uuid: string): string;
  /** The prefix of one semaphore's slot keys: slots/host/<host>/ or slots/link/<host>/. */
  slotPool(kind: 'host' | 'link', host: string): string;
  drain(host: string): string;
  /** The host name of a members/ key, or undefined for a key outside members/. */
  memberName(key: string): string | undefined;
}

export function clusterKeys(prefix: string): ClusterKeys {
  const membersPrefix = `${prefix}members/`;
  return {
    prefix,
    membersPrefix,
    member: (host) => `${membersPrefix}${host}`,
    owner: (uuid) => `${prefix}vms/${uuid}/owner`,
    slotPool: (kind, host) => `${prefix}slots/${kind}/${host}/`,
    drain: (host) => `${prefix}drains/${host}`,
    memberName: (key) => (key.startsWith(membersPrefix) ? key.slice(membersPrefix.length) : undefined),
  };
}
