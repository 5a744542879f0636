// The fake QEMU's guest as QMP sees it: the run state (prelaunch, paused, running, inmigrate,
// finish-migrate, postmigrate) with QEMU 10.0.2's STOP/RESUME/SHUTDOWN/POWERDOWN/RESET events
// and their timestamps, the commands that move it, and the migration state both sides share
// (capabilities, parameters); outgoing.ts and incoming.ts run the two sides of a migration.
import { existsSync } from 'node:fs';
import { loadTranscript, recordedReply } from '../../src/qmp/testing/transcript.js';
import type { FakeQemuArgs } from './argv.js';
import { Incoming } from './incoming.js';
import { generic, ok, type Reply } from './monitor.js';
import { recordedCapabilities } from './qmp-check.js';
import { Outgoing } from './outgoing.js';

export type RunState = 'prelaunch' | 'paused' | 'running' | 'inmigrate' | 'finish-migrate' | 'postmigrate';

const introspection = loadTranscript('introspection', '10.0');
const schemaTranscript = loadTranscript('qmp-schema', '10.0');
const sourceTranscript = loadTranscript('migration-source', '10.0');
/** Replies that only describe this build of QEMU: answered as the recorded 10.0.2 answered. */
const RECORDED: Record<string, Reply> = {
  'query-version': recordedReply(introspection, 'query-version'),
  'query-machines': recordedReply(introspection, 'query-machines'),
  'query-cpu-definitions': recordedReply(introspection, 'query-cpu-definitions'),
  'query-qmp-schema': recordedReply(schemaTranscript, 'query-qmp-schema'),
} as Record<string, Reply>;

export class Machine {
  state: RunState;
  /** Run once an incoming migration completes (`cont` during inmigrate sets it, as in QEMU). */
  autostart = false;
  readonly capabilities = new Map(recordedCapabilities.map((c) => [c, false]));
  readonly parameters = {
    ...((recordedReply(sourceTranscript, 'query-migrate-parameters') as { return: object }).return as Record<
      string,
      unknown
    >),
  };
  /** Ids of the user-creatable objects (object-add), under QOM's /objects container. */
  private readonly objects = new Set<string>();
  readonly outgoing: Outgoing;
  readonly incoming: Incoming;

  constructor(
    readonly args: FakeQemuArgs,
    /** Writes an event line to every monitor. */
    private readonly broadcast: (line: string) => void,
    /** Ends the process (after the current reply went out), with QEMU's exit status. */
    readonly exit: (status: number) => void,
  ) {
    this.state = args.incoming ? 'inmigrate' : args.startPaused ? 'prelaunch' : 'running';
    this.outgoing = new Outgoing(this);
    this.incoming = new Incoming(this);
  }

  emit(event: string, data?: unknown): void {
    const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
    const timestamp = { seconds: Math.floor(micros / 1e6), microseconds: micros % 1e6 };
    this.broadcast(
      `${JSON.stringify(data === undefined ? { event, timestamp } : { event, data, timestamp })}\n`,
    );
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** vm_start: RESUME; on a running VM QEMU sends STOP and RESUME and changes nothing. */
  start(): void {
    if (this.running) this.emit('STOP');
    this.state = 'running';
    this.emit('RESUME');
  }

  /** vm_stop_force_state: STOP only if the vCPUs ran. */
  stopTo(state: RunState): void {
    const was = this.running;
    this.state = state;
    if (was) this.emit('STOP');
  }

  /** The guest ends (quit, a signal, its own power-off): SHUTDOWN, then the process exits. */
  shutdown(guest: boolean, reason: string): void {
    this.emit('SHUTDOWN', { guest, reason });
    this.exit(0);
  }

  execute = (execute: string, args: Record<string, unknown>): Promise<Reply> | Reply => {
    const recorded = RECORDED[execute];
    if (recorded) return recorded;
    switch (execute) {
      case 'query-status':
        return { return: { status: this.state, running: this.running } };
      case 'cont':
        return this.cont();
      case 'stop':
        if (this.state === 'inmigrate') this.autostart = false;
        else if (this.running) this.stopTo('paused');
        return ok;
      case 'quit':
        this.shutdown(false, 'host-qmp-quit');
        return ok;
      case 'system_reset':
        this.emit('RESET', { guest: false, reason: 'host-qmp-system-reset' });
        return ok;
      case 'system_powerdown':
        this.emit('POWERDOWN');
        // The test guest powers off on ACPI's button when its vCPUs run.
        if (this.running) setTimeout(() => this.shutdown(true, 'guest-shutdown'), 100);
        return ok;
      case 'query-migrate-capabilities':
        return { return: [...this.capabilities].map(([capability, state]) => ({ capability, state })) };
      case 'query-migrate-parameters':
        return { return: this.parameters };
      case 'migrate-set-capabilities':
        return this.setCapabilities(args['capabilities'] as { capability: string; state: boolean }[]);
      case 'migrate-set-parameters':
        return this.setParameters(args);
      case 'migrate-incoming':
        return this.incoming.start(args);
      case 'query-migrate':
        return { return: this.args.incoming ? this.incoming.info() : this.outgoing.info() };
      case 'migrate_cancel':
        return this.args.incoming ? ok : this.outgoing.cancel();
      case 'object-add':
        return this.objectAdd(args);
      case 'object-del':
        if (!this.objects.delete(String(args['id'])))
          return generic(`object '${String(args['id'])}' not found`);
        return ok;
      default:
        return this.outgoing.execute(execute, args);
    }
  };

  private cont(): Reply | Promise<Reply> {
    if (this.state === 'inmigrate') {
      this.autostart = true;
      return ok;
    }
    this.start();
    // A busy QEMU (a post-copy target faulting pages in) answers cont well after its RESUME.
    const late = Number(process.env['VMHOP_FAKE_QEMU_CONT_REPLY_DELAY_MS'] ?? 0);
    return late > 0 ? new Promise((r) => setTimeout(() => r(ok), late)) : ok;
  }

  private objectAdd(args: Record<string, unknown>): Reply {
    const id = String(args['id']);
    if (this.objects.has(id))
      return generic(`attempt to add duplicate property '${id}' to object (type 'container')`);
    // tls-creds-x509 reads its directory at once (a server or a verifying client needs the CA).
    if (args['qom-type'] === 'tls-creds-x509') {
      const ca = `${String(args['dir'])}/ca-cert.pem`;
      if (!existsSync(ca)) return generic(`Unable to access credentials ${ca}: No such file or directory`);
    }
    this.objects.add(id);
    return ok;
  }

  private setCapabilities(caps: { capability: string; state: boolean }[]): Reply {
    if (this.outgoing.busy || this.incoming.busy) return generic("There's a migration process in progress");
    for (const c of caps) this.capabilities.set(c.capability, c.state);
    return ok;
  }

  private setParameters(args: Record<string, unknown>): Reply {
    const downtime = args['downtime-limit'];
    if (typeof downtime === 'number' && (downtime < 0 || downtime > 2_000_000))
      return generic("Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms");
    // StrOrNull: null is the empty string in query-migrate-parameters.
    for (const [k, v] of Object.entries(args)) this.parameters[k] = v === null ? '' : v;
    return ok;
  }
}
