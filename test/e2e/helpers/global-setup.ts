// e2e global set-up: a fresh test bed (two hosts, client, shared dir) for the whole run,
// removed at the end, also when tests failed. Leftovers of a crashed run are cleared first.
import * as testbed from '../../../src/testbed/testbed.js';

export async function setup(): Promise<void> {
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'] });
}

export async function teardown(): Promise<void> {
  await testbed.down();
}
