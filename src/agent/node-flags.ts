// V8 flags the agent runs with, wherever it is started (the test bed, benchmarks; the
// systemd unit packaging/vmhop-agent.service sets the same in NODE_OPTIONS, since the
// `#!/usr/bin/env node` launcher cannot take flags). Not for the CLI, which lives for a second.
//
// A young generation of 1 MiB semi-spaces instead of 16: an agent allocates little per request,
// so scavenges stay cheap. Measured with bench/agent.ts (issue 14 §4): idle RSS 5-9 MiB lower,
// 13-26 MiB lower with 50 VMs listed 300 times; `list` p50 0.6 ms slower (1.9 -> 2.5 ms), p95
// no worse (5.8-7.2 ms); offline copies as fast (bench/offline.ts, 100 Mbit/s).
//
// One V8 background thread instead of one per core (4 here): they only compile and collect
// garbage in the background, which an agent's small heap needs little of, and each one that
// ran kept its own malloc arena. Measured with bench/agent.ts, 3 runs each, side by side: idle
// RSS 69.4-70.5 MiB instead of 74.4-76.5, 73.9-74.1 instead of 78.0-80.9 with 50 VMs listed
// 300 times; `list` p50 1.38-1.54 ms and p95 2.56-2.64 ms, as without (1.45-1.51, 2.62-3.23).
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];
