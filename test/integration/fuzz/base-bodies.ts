// One valid body per route that takes one: the fuzzer mutates it field by field, so each
// mutation is refused for the one thing it broke. Valid bodies are chosen to stop before
// anything runs: migrations and copies name a peer the agent does not have, actions name a VM
// that does not exist, a live prepare names a VM the target already has.
import { MigrationOptions } from '../../../src/protocol/migration.js';
import { PROTOCOL_VERSION } from '../../../src/protocol/host.js';
import { kernelVm } from '../helpers/vm-specs.js';
import { NO_JOB } from './route-catalogue.js';

const v = { protocolVersion: PROTOCOL_VERSION };

export interface BodyDirs {
  /** The sandbox (its `outside/victim` is a decoy). */
  sandbox: string;
  /** A directory the fuzzer may define as a pool, inside the client agent's data folder. */
  poolDir: string;
  /** Where the client agent and the peer target agent boot kernels from (their data folders). */
  clientBoot: string;
  peerBoot: string;
}

export function baseBodies(d: BodyDirs): Record<string, unknown[]> {
  const sb = d.sandbox;
  const poolDir = d.poolDir;
  const boot = (dir: string) => ({
    kind: 'kernel' as const,
    kernel: `${dir}/vmlinuz-fuzz`,
    cmdline: 'console=ttyS0',
  });
  const actions = { paused: false, force: false, timeoutMs: 5_000 };
  const options = { ...MigrationOptions.parse({}), bandwidthMiBs: 100, parallel: 2, migrateDisks: ['vda'] };
  const item = {
    key: 'default/d9.img',
    kind: 'volume',
    pool: 'default',
    name: 'd9.img',
    format: 'raw',
    sizeBytes: 1 << 20,
    dataBytes: 4096,
    fingerprint: 'f1',
  };
  const xml = `<domain type='kvm'><name>fzxml</name><uuid>6f0e1c1e-2b1a-4c3d-9e8f-0a1b2c3d4e5f</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type><kernel>${d.clientBoot}/vmlinuz-fuzz</kernel></os><devices></devices></domain>`;
  const bodies: Record<string, unknown[]> = {
    'POST /v1/vms': [
      {
        spec: kernelVm('fzvm', {
          boot: boot(d.clientBoot),
          disks: [{ target: 'vda', pool: 'default', volume: 'd1.qcow2' }],
        }),
      },
    ],
    'POST /v1/vms/import-xml': [{ xml }],
    'POST /v1/pools': [
      { name: 'fzdir', kind: 'dir', path: poolDir },
      { name: 'fzblock', kind: 'block', devices: ['/dev/null'] },
      { name: 'fzshared', kind: 'shared', path: `${sb}/outside/victim` },
    ],
    'POST /v1/pools/:pool/volumes': [
      {
        name: 'fz.qcow2',
        sizeBytes: 1 << 20,
        format: 'qcow2',
        backingVolume: 'd1.qcow2',
        allowOvercommit: false,
      },
    ],
    'POST /v1/migrations': [
      {
        vm: 'web1',
        to: 'b',
        mode: 'live-copy',
        options: { ...options, targetPool: 'default' },
        dryRun: true,
      },
    ],
    'POST /v1/jobs/:id/resolve': [{ runs: 'source', force: false }],
    'POST /v1/jobs/:id/speed': [{ mibPerS: 10 }, { mibPerS: 0 }],
    'POST /v1/jobs/:id/max-downtime': [{ ms: 500 }],
    'POST /v1/vms/:name/job/speed': [{ mibPerS: 10 }],
    'POST /v1/vms/:name/job/max-downtime': [{ ms: 500 }],
    'POST /v1/volumes/copy': [{ pool: 'default', volume: 'd1.qcow2', to: 'b', targetPool: 'default' }],
    'POST /v1/peer/probe': [{ ...v, pool: 'default', nonce: 'n1' }],
    'POST /v1/peer/migrations': [
      {
        ...v,
        jobId: NO_JOB,
        mode: 'live-copy',
        source: 'a',
        spec: kernelVm('web1', { boot: boot(d.peerBoot) }),
        settings: {
          capabilities: [{ capability: 'events', state: true }],
          parameters: { 'max-bandwidth': 1 },
        },
        tls: true,
        options,
        disks: [{ target: 'vda', pool: 'default', volume: 'd2.qcow2', format: 'qcow2', sizeBytes: 1 << 20 }],
      },
    ],
    'POST /v1/peer/migrations/:id/finish': [v],
    'POST /v1/peer/migrations/:id/postcopy': [{ ...v, action: 'commit' }],
    'POST /v1/peer/migrations/:id/abort': [{ ...v, reason: 'fuzz' }],
    'POST /v1/peer/offline': [
      { ...v, jobId: NO_JOB, source: 'a', vm: 'fzoff', volumeCopy: false, items: [item], options },
    ],
    'POST /v1/peer/offline/:id/commit': [
      {
        ...v,
        jobId: NO_JOB,
        spec: kernelVm('fzoff', { boot: boot(d.peerBoot) }),
        manifests: [{ key: 'default/d9.img', chunks: [{ offset: 0, length: 4096, sha256: 'a'.repeat(64) }] }],
        state: { running: false, savedAt: '2026-01-01T00:00:00Z' },
      },
    ],
    'POST /v1/peer/offline/:id/pause': [{ ...v, reason: 'fuzz' }],
  };
  for (const a of ['start', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'save', 'restore']) {
    bodies[`POST /v1/vms/:name/${a}`] = [actions];
  }
  return bodies;
}
