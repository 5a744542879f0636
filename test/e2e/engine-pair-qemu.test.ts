// The failure matrix of issue 13 (test/integration/helpers/pair-matrix.ts) over the installed QEMU
// under TCG: the same cases the unit project plays on the fake QEMU, here against the real thing,
// so a difference between the fake and QEMU 10.0.2 shows as a case that passes on one only.
import { pairMatrix } from '../integration/helpers/pair-matrix.js';

pairMatrix('qemu');
