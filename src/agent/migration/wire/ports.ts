// The TCP ports a target agent listens on for a migration's streams (the RAM gate, the NBD
// server of a live copy). The source knows them too: in post-copy it probes the port just
// below them on the target to learn whether the migration link is back, a port no stream uses.

export const PORT_RANGE = { first: 49152, count: 100 };
