// A host's name as peers know it: the agent config's `name`, the CN of its certificate, and
// the `source` of every job it starts on another host. One rule, so a name that passes one
// check cannot mean another host (or a path) in the next.
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
