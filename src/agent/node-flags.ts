// V8 flags the agent runs with, wherever it is started (the test bed, benchmarks; the
// systemd unit packaging/vmhop-agent.service sets the same in NODE_OPTIONS, since the
// `#!/usr/bin/env node` launcher cannot take flags). Not for the CLI, which lives for a second.
//
// A young generation of 1 MiB semi-spaces instead of 16: an agent allocates little per request,
// so scavenges stay cheap, and idle RSS drops by ~10 MiB and by ~25 MiB with 50 VMs listed
// (bench/agent.ts, issue 14 §4), with no change in `list` latency.
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
