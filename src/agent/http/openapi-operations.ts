// What /openapi.json says of each route beyond its zod schemas: a stable camelCase
// operationId (virsh's verb where it has one, as the CLI), a summary, a tag, and the error
// codes the route raises besides those every route can answer (openapi.ts adds those and
// turns codes into statuses with the catalogue). A route missing here is still documented,
// under an id derived from its method and path; openapi.test.ts lists such routes.
import type { ErrorCode } from '../../protocol/errors.js';

export interface Operation {
  id: string;
  summary: string;
  tag: 'agent' | 'vms' | 'pools' | 'migrations' | 'peer';
  errors?: ErrorCode[];
}

const VM: ErrorCode[] = ['VMHOP_ERR_VM_NOT_FOUND'];
const VM_ACT: ErrorCode[] = [
  ...VM,
  'VMHOP_ERR_VM_STATE',
  'VMHOP_ERR_VM_CRASHED',
  'VMHOP_ERR_QMP',
  'VMHOP_ERR_TIMEOUT',
  'VMHOP_ERR_MIGRATION_UNRESOLVED',
  'VMHOP_ERR_MIGRATION_IN_PROGRESS',
];
const POOL: ErrorCode[] = ['VMHOP_ERR_POOL_NOT_FOUND'];
const VOL: ErrorCode[] = [...POOL, 'VMHOP_ERR_VOLUME_NOT_FOUND', 'VMHOP_ERR_VOLUME_NAME_INVALID'];
const JOB: ErrorCode[] = ['VMHOP_ERR_JOB_NOT_FOUND'];
const JOB_ACT: ErrorCode[] = [
  ...JOB,
  'VMHOP_ERR_JOB_ENDED',
  'VMHOP_ERR_VM_STATE',
  'VMHOP_ERR_PEER_UNREACHABLE',
];
const PEER: ErrorCode[] = ['VMHOP_ERR_PEER_NOT_OF_JOB', 'VMHOP_ERR_PEER_PROTOCOL'];
const PEER_JOB: ErrorCode[] = [...PEER, ...JOB, 'VMHOP_ERR_JOB_ENDED'];
const vmAction = (verb: string, summary: string, more: ErrorCode[] = []): [string, Operation] => [
  `POST /v1/vms/:name/${verb}`,
  { id: verb, summary, tag: 'vms', errors: [...VM_ACT, ...more] },
];

export const operations: Record<string, Operation> = Object.fromEntries([
  ['GET /health', { id: 'health', summary: 'Liveness: the agent answers (no authentication)', tag: 'agent' }],
  [
    'GET /openapi.json',
    { id: 'openapi', summary: 'This OpenAPI document (no authentication)', tag: 'agent' },
  ],
  [
    'GET /metrics',
    { id: 'metrics', summary: 'Prometheus metrics of VMs, migrations and pools', tag: 'agent' },
  ],
  [
    'GET /v1/host',
    {
      id: 'hostInfo',
      summary: "The host's capabilities, versions and memory (virsh nodeinfo)",
      tag: 'agent',
    },
  ],
  [
    'GET /v1/host/drain-plan',
    {
      id: 'hostDrainPlan',
      summary: 'Where each VM of this host would go, how, when, and which cannot (host drain --dry-run)',
      tag: 'agent',
      errors: ['VMHOP_ERR_PEER_UNKNOWN', 'VMHOP_ERR_PEER_AUTH', 'VMHOP_ERR_USAGE'],
    },
  ],
  [
    'POST /v1/vms/:name/priority',
    {
      id: 'setVmPriority',
      summary: "Set a VM's drain priority (-100..100, higher moves first; set-priority)",
      tag: 'vms',
      errors: ['VMHOP_ERR_VM_NOT_FOUND', 'VMHOP_ERR_VM_STATE'],
    },
  ],
  [
    'POST /v1/host/drain',
    {
      id: 'hostDrain',
      summary: 'Put this host in maintenance and move every VM off it by the drain plan (host drain)',
      tag: 'agent',
      errors: ['VMHOP_ERR_DRAIN_RUNNING', 'VMHOP_ERR_PEER_UNKNOWN', 'VMHOP_ERR_PEER_AUTH', 'VMHOP_ERR_USAGE'],
    },
  ],
  [
    'GET /v1/host/drain',
    {
      id: 'hostDrainLatest',
      summary: "This host's latest drain and its report: per VM and the whole (host drain-status)",
      tag: 'agent',
      errors: ['VMHOP_ERR_DRAIN_NOT_FOUND'],
    },
  ],
  [
    'GET /v1/host/drains/:id',
    {
      id: 'hostDrainGet',
      summary: 'One drain and its report, with its journal',
      tag: 'agent',
      errors: ['VMHOP_ERR_DRAIN_NOT_FOUND'],
    },
  ],
  [
    'POST /v1/host/drains/:id/cancel',
    {
      id: 'hostDrainCancel',
      summary: 'Cancel a running drain: running moves end or roll back, queued ones stay (host drain-cancel)',
      tag: 'agent',
      errors: ['VMHOP_ERR_DRAIN_NOT_FOUND', 'VMHOP_ERR_VM_STATE'],
    },
  ],
  [
    'POST /v1/host/undrain',
    {
      id: 'hostUndrain',
      summary: 'End maintenance; with return, name the VMs the last drain moved away (host undrain)',
      tag: 'agent',
      errors: ['VMHOP_ERR_DRAIN_RUNNING'],
    },
  ],
  [
    'GET /v1/events',
    {
      id: 'events',
      summary: 'Server-sent events: VM states and job progress (resumes with Last-Event-ID)',
      tag: 'agent',
    },
  ],
  [
    'GET /v1/audit',
    {
      id: 'auditList',
      summary: 'The audit log, newest first: who changed what and how it ended',
      tag: 'agent',
    },
  ],
  ['GET /v1/vms', { id: 'list', summary: 'VMs defined on this host (virsh list --all)', tag: 'vms' }],
  [
    'POST /v1/vms',
    {
      id: 'define',
      summary: 'Define a VM from its spec (virsh define)',
      tag: 'vms',
      errors: [
        'VMHOP_ERR_VM_EXISTS',
        'VMHOP_ERR_VM_SPEC_INVALID',
        'VMHOP_ERR_POOL_NOT_FOUND',
        'VMHOP_ERR_VOLUME_NOT_FOUND',
        'VMHOP_ERR_PATH_OUTSIDE_POOL',
        'VMHOP_ERR_PATH_NOT_ALLOWED',
      ],
    },
  ],
  [
    'POST /v1/vms/import-xml',
    {
      id: 'defineXml',
      summary: 'Define a VM from libvirt domain XML',
      tag: 'vms',
      errors: [
        'VMHOP_ERR_XML_INVALID',
        'VMHOP_ERR_VM_EXISTS',
        'VMHOP_ERR_VM_SPEC_INVALID',
        'VMHOP_ERR_PATH_OUTSIDE_POOL',
        'VMHOP_ERR_PATH_NOT_ALLOWED',
      ],
    },
  ],
  [
    'GET /v1/vms/:name',
    { id: 'dominfo', summary: "One VM's definition and state (virsh dominfo)", tag: 'vms', errors: VM },
  ],
  [
    'DELETE /v1/vms/:name',
    {
      id: 'undefine',
      summary: "Remove a shut-off VM's definition (virsh undefine)",
      tag: 'vms',
      errors: [
        ...VM,
        'VMHOP_ERR_VM_STATE',
        'VMHOP_ERR_MIGRATION_UNRESOLVED',
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
      ],
    },
  ],
  [
    'GET /v1/vms/:name/xml',
    { id: 'dumpxml', summary: 'The VM as libvirt domain XML (virsh dumpxml)', tag: 'vms', errors: VM },
  ],
  [
    'GET /v1/vms/:name/console',
    { id: 'consoleLog', summary: "The VM's serial console log", tag: 'vms', errors: VM },
  ],
  [
    'POST /v1/vms/:name/vnc/ticket',
    {
      id: 'vncTicket',
      summary: "A single-use ticket (30 s) to open the VM's graphical console (as Proxmox vncproxy)",
      tag: 'vms',
      errors: [...VM, 'VMHOP_ERR_VM_STATE'],
    },
  ],
  [
    'GET /v1/vms/:name/vnc',
    {
      id: 'vncWebsocket',
      summary: "WebSocket to the VM's VNC display (RFB, binary frames); authenticated by ?ticket= alone",
      tag: 'vms',
      errors: [...VM, 'VMHOP_ERR_VM_STATE', 'VMHOP_ERR_AUTH_INVALID'],
    },
  ],
  vmAction('start', 'Start a VM (virsh start)', [
    'VMHOP_ERR_QEMU_START_FAILED',
    'VMHOP_ERR_HOST_INSUFFICIENT_MEMORY',
  ]),
  vmAction('shutdown', 'Ask the guest to power off and wait (virsh shutdown)'),
  vmAction('destroy', "Stop the VM's QEMU at once (virsh destroy)"),
  vmAction('suspend', "Pause the VM's vCPUs (virsh suspend)"),
  vmAction('resume', "Resume the VM's vCPUs (virsh resume)"),
  vmAction('reboot', 'Reset the guest (virsh reboot)'),
  vmAction('save', "Save a running VM's RAM and device state to a file and stop it (virsh save)"),
  vmAction('restore', 'Start a VM from its saved state (virsh restore)', ['VMHOP_ERR_QEMU_START_FAILED']),
  [
    'GET /v1/pools',
    { id: 'poolList', summary: 'Storage pools with capacity and free space (virsh pool-list)', tag: 'pools' },
  ],
  [
    'POST /v1/pools',
    {
      id: 'poolDefine',
      summary: 'Define a storage pool (virsh pool-define)',
      tag: 'pools',
      errors: ['VMHOP_ERR_POOL_EXISTS', 'VMHOP_ERR_POOL_INVALID', 'VMHOP_ERR_PATH_NOT_ALLOWED'],
    },
  ],
  [
    'GET /v1/pools/:pool',
    { id: 'poolInfo', summary: 'One storage pool (virsh pool-info)', tag: 'pools', errors: POOL },
  ],
  [
    'DELETE /v1/pools/:pool',
    {
      id: 'poolUndefine',
      summary: 'Remove a pool definition (virsh pool-undefine)',
      tag: 'pools',
      errors: [...POOL, 'VMHOP_ERR_POOL_IN_USE'],
    },
  ],
  [
    'GET /v1/pools/:pool/volumes',
    { id: 'volList', summary: "A pool's volumes (virsh vol-list)", tag: 'pools', errors: POOL },
  ],
  [
    'POST /v1/pools/:pool/volumes',
    {
      id: 'volCreate',
      summary: 'Create a volume (virsh vol-create)',
      tag: 'pools',
      errors: [
        ...POOL,
        'VMHOP_ERR_VOLUME_EXISTS',
        'VMHOP_ERR_VOLUME_NAME_INVALID',
        'VMHOP_ERR_VOLUME_NO_SPACE',
        'VMHOP_ERR_VOLUME_UNSUPPORTED',
        'VMHOP_ERR_COMMAND_FAILED',
      ],
    },
  ],
  [
    'GET /v1/pools/:pool/volumes/:volume',
    { id: 'volInfo', summary: 'One volume (virsh vol-info)', tag: 'pools', errors: VOL },
  ],
  [
    'DELETE /v1/pools/:pool/volumes/:volume',
    {
      id: 'volDelete',
      summary: 'Delete a volume (virsh vol-delete)',
      tag: 'pools',
      errors: [...VOL, 'VMHOP_ERR_VOLUME_IN_USE'],
    },
  ],
  [
    'POST /v1/volumes/copy',
    {
      id: 'volCopy',
      summary: 'Copy a volume to another host, as a job',
      tag: 'pools',
      errors: [
        ...VOL,
        'VMHOP_ERR_PEER_UNKNOWN',
        'VMHOP_ERR_PEER_UNREACHABLE',
        'VMHOP_ERR_MIGRATION_PREFLIGHT',
        'VMHOP_ERR_VOLUME_IN_USE',
      ],
    },
  ],
  [
    'POST /v1/migrations',
    {
      id: 'migrate',
      summary: 'Start a migration, or only its pre-flight with dryRun (virsh migrate)',
      tag: 'migrations',
      errors: [
        ...VM,
        'VMHOP_ERR_VM_STATE',
        'VMHOP_ERR_MIGRATION_OPTIONS',
        'VMHOP_ERR_MIGRATION_PREFLIGHT',
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        'VMHOP_ERR_MIGRATION_UNRESOLVED',
        'VMHOP_ERR_PEER_UNKNOWN',
        'VMHOP_ERR_PEER_UNREACHABLE',
        'VMHOP_ERR_PEER_AUTH',
        'VMHOP_ERR_PEER_PROTOCOL',
      ],
    },
  ],
  [
    'GET /v1/jobs',
    {
      id: 'jobList',
      summary: 'Migration jobs on this host, newest first, a page at a time (limit, cursor)',
      tag: 'migrations',
    },
  ],
  [
    'GET /v1/jobs/:id',
    {
      id: 'jobInfo',
      summary: 'One job with its progress, report and journal',
      tag: 'migrations',
      errors: JOB,
    },
  ],
  [
    'POST /v1/jobs/:id/abort',
    { id: 'jobAbort', summary: 'Cancel a running job', tag: 'migrations', errors: JOB_ACT },
  ],
  [
    'POST /v1/jobs/:id/resume',
    { id: 'jobResume', summary: 'Resume an interrupted offline copy', tag: 'migrations', errors: JOB_ACT },
  ],
  [
    'POST /v1/jobs/:id/resolve',
    {
      id: 'jobResolve',
      summary: 'Settle a job that needs an operator: which host runs the VM',
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN'],
    },
  ],
  [
    'POST /v1/jobs/:id/postcopy',
    {
      id: 'jobPostcopy',
      summary: 'Switch a running migration to post-copy',
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_MIGRATION_OPTIONS', 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'GET /v1/vms/:name/job',
    {
      id: 'domjobinfo',
      summary: "The VM's running or latest job (virsh domjobinfo)",
      tag: 'migrations',
      errors: [...VM, ...JOB],
    },
  ],
  [
    'POST /v1/vms/:name/job/abort',
    {
      id: 'domjobabort',
      summary: "Cancel the VM's running job (virsh domjobabort)",
      tag: 'migrations',
      errors: JOB_ACT,
    },
  ],
  [
    'POST /v1/vms/:name/job/postcopy',
    {
      id: 'migratePostcopy',
      summary: "Switch the VM's migration to post-copy (virsh migrate-postcopy)",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_MIGRATION_OPTIONS', 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/jobs/:id/speed',
    {
      id: 'jobSetSpeed',
      summary: "Cap a running migration's RAM stream, MiB/s (0: no cap)",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/jobs/:id/max-downtime',
    {
      id: 'jobSetMaxDowntime',
      summary: "Set a running migration's downtime limit, ms",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'GET /v1/jobs/:id/speed',
    {
      id: 'jobGetSpeed',
      summary: "A running migration's bandwidth cap and downtime limit",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/vms/:name/job/speed',
    {
      id: 'migrateSetspeed',
      summary: "Cap the VM's migration bandwidth (virsh migrate-setspeed)",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/vms/:name/job/max-downtime',
    {
      id: 'migrateSetmaxdowntime',
      summary: "Set the VM's migration downtime limit (virsh migrate-setmaxdowntime)",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'GET /v1/vms/:name/job/speed',
    {
      id: 'migrateGetspeed',
      summary: "The VM's migration bandwidth cap (virsh migrate-getspeed)",
      tag: 'migrations',
      errors: [...JOB_ACT, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'GET /v1/peer/host',
    { id: 'peerHost', summary: 'Agent to agent: versions and capabilities for the pre-flight', tag: 'peer' },
  ],
  [
    'POST /v1/peer/probe',
    {
      id: 'peerProbe',
      summary: 'Agent to agent: does a probe file show the same shared storage',
      tag: 'peer',
      errors: POOL,
    },
  ],
  [
    'GET /v1/peer/pools/:pool/volumes/:name',
    {
      id: 'peerVolume',
      summary: 'Agent to agent: a volume on the target, or null',
      tag: 'peer',
      errors: POOL,
    },
  ],
  [
    'POST /v1/peer/link-probe',
    {
      id: 'peerLinkProbe',
      summary:
        'Agent to agent: a one-time sink on the migration address, to measure the link before a migration',
      tag: 'peer',
      errors: [...PEER, 'VMHOP_ERR_MIGRATION_FAILED'],
    },
  ],
  [
    'POST /v1/peer/migrations',
    {
      id: 'peerPrepare',
      summary: 'Agent to agent: prepare the target of a live migration',
      tag: 'peer',
      errors: [
        ...PEER,
        'VMHOP_ERR_VM_EXISTS',
        'VMHOP_ERR_POOL_NOT_FOUND',
        'VMHOP_ERR_VOLUME_EXISTS',
        'VMHOP_ERR_VOLUME_NO_SPACE',
        'VMHOP_ERR_HOST_INSUFFICIENT_MEMORY',
        'VMHOP_ERR_QEMU_START_FAILED',
        'VMHOP_ERR_QMP',
      ],
    },
  ],
  [
    'GET /v1/peer/migrations/:id',
    { id: 'peerJob', summary: "Agent to agent: the target's side of a job", tag: 'peer', errors: PEER_JOB },
  ],
  [
    'POST /v1/peer/migrations/:id/finish',
    {
      id: 'peerFinish',
      summary: 'Agent to agent: finish on the target (resume the guest there)',
      tag: 'peer',
      errors: [...PEER_JOB, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/peer/migrations/:id/postcopy',
    {
      id: 'peerPostcopy',
      summary: 'Agent to agent: the target joins the switch to post-copy',
      tag: 'peer',
      errors: [...PEER_JOB, 'VMHOP_ERR_QMP'],
    },
  ],
  [
    'POST /v1/peer/migrations/:id/abort',
    {
      id: 'peerAbort',
      summary: "Agent to agent: roll back the target's side",
      tag: 'peer',
      errors: PEER_JOB,
    },
  ],
  [
    'POST /v1/peer/offline',
    {
      id: 'peerOfflinePrepare',
      summary: 'Agent to agent: prepare the target of an offline copy',
      tag: 'peer',
      errors: [
        ...PEER,
        'VMHOP_ERR_VM_EXISTS',
        'VMHOP_ERR_POOL_NOT_FOUND',
        'VMHOP_ERR_VOLUME_EXISTS',
        'VMHOP_ERR_VOLUME_NO_SPACE',
      ],
    },
  ],
  [
    'POST /v1/peer/offline/:id/commit',
    {
      id: 'peerOfflineCommit',
      summary: 'Agent to agent: commit an offline copy on the target',
      tag: 'peer',
      errors: [...PEER_JOB, 'VMHOP_ERR_COPY_INCOMPLETE'],
    },
  ],
  [
    'POST /v1/peer/offline/:id/pause',
    {
      id: 'peerOfflinePause',
      summary: 'Agent to agent: pause an offline copy, keeping what arrived',
      tag: 'peer',
      errors: PEER_JOB,
    },
  ],
] satisfies [string, Operation][]);
