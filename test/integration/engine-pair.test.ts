// The failure matrix of issue 13 (helpers/pair-matrix.ts) over the fake QEMU (test/fake-qemu/):
// real processes, pidfiles, QMP sockets and migration streams, in seconds instead of the two
// minutes real TCG guests take. test/e2e/engine-pair-qemu.test.ts plays the same cases on real QEMU.
import { pairMatrix } from './helpers/pair-matrix.js';

pairMatrix('fake');
