// GET /metrics after a live migration between two in-process agents running the installed
// QEMU under TCG: the unit project plays the same case on the fake QEMU, so a report figure
// the fake does not produce as QEMU does shows here.
import { metricsAfterMigration } from '../integration/helpers/metrics-after-migration.js';

metricsAfterMigration('qemu');
