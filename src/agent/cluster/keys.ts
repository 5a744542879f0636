// The etcd key layout of cluster mode (docs/fleet-etcd.md, "What etcd holds"): one place that
// turns a host name or VM UUID into its key under the configured prefix. Only the keys this
// client reads and writes are here; load/, jobs/, drains/ and links/ come with their users.
export interface ClusterKeys {
  prefix: string;
  membersPrefix: string;
  member(host: string): string;
  owner(uuid: string): string;
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
    memberName: (key) => (key.startsWith(membersPrefix) ? key.slice(membersPrefix.length) : undefined),
  };
}
