// Short-lived, single-use tickets for a VM's VNC console (as Proxmox's vncproxy issues): an
// authenticated POST gets one, and the WebSocket upgrade that a browser cannot give an
// Authorization header presents it once. A ticket names its VM: it opens no other console.
import { randomBytes } from 'node:crypto';
import { VmhopError } from '../../protocol/errors.js';

export interface VncTicket {
  ticket: string;
  vm: string;
  /** Who asked for it (token name): the console's audit trail. */
  who: string;
  expiresAt: number;
}

export class VncTickets {
  private readonly tickets = new Map<string, VncTicket>();

  constructor(
    private readonly ttlMs = 30_000,
    /** Bounds the map: a client asking in a loop evicts its own oldest tickets, not memory. */
    private readonly maxOutstanding = 64,
    private readonly now: () => number = Date.now,
  ) {}

  issue(vm: string, who: string): VncTicket {
    this.dropExpired();
    while (this.tickets.size >= this.maxOutstanding) {
      const oldest = this.tickets.keys().next().value as string;
      this.tickets.delete(oldest);
    }
    const t: VncTicket = {
      ticket: randomBytes(32).toString('base64url'),
      vm,
      who,
      expiresAt: this.now() + this.ttlMs,
    };
    this.tickets.set(t.ticket, t);
    return t;
  }

  /** Uses up the ticket for `vm`; a missing, expired, used or other VM's ticket is refused. */
  take(ticket: string | undefined, vm: string): VncTicket {
    this.dropExpired();
    const t = ticket ? this.tickets.get(ticket) : undefined;
    if (!t || t.vm !== vm) {
      throw new VmhopError(
        'VMHOP_ERR_AUTH_INVALID',
        ticket
          ? `the console ticket is not valid for VM \`${vm}\` (unknown, used, expired after ${this.ttlMs / 1000} s, or issued for another VM): ask POST /v1/vms/${vm}/vnc/ticket for a new one`
          : `no console ticket: open the console with ?ticket= from POST /v1/vms/${vm}/vnc/ticket`,
        { vm },
      );
    }
    this.tickets.delete(t.ticket);
    return t;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [k, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(k);
  }
}
