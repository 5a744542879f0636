// A VM's graphical console: noVNC in the page, over a WebSocket that `vmhop ui` passes to the
// agent, which proxies the VM's VNC unix socket. Each connection first asks the agent for a
// single-use ticket (POST .../vnc/ticket, with the token `vmhop ui` holds): the WebSocket
// itself carries no token, and no VNC port is open to anyone.
import { useCallback, useEffect, useRef, useState } from 'react';
import RFB from '@novnc/novnc';
import type { VmInfo } from '../../../protocol/vm.js';
import { agent, enc } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';

type Status = 'connecting' | 'connected' | 'disconnected';
const LIVE = new Set(['running', 'paused', 'migrating']);

function consoleUrl(host: string, vm: string, ticket: string): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/api/hosts/${enc(host)}/v1/vms/${enc(vm)}/vnc?ticket=${enc(ticket)}`;
}

export function VncConsole({ host, vm }: { host: string; vm: VmInfo }) {
  const screen = useRef<HTMLDivElement>(null);
  const rfb = useRef<RFB | null>(null);
  const [status, setStatus] = useState<Status>('disconnected');
  const [error, setError] = useState<Error>();
  const [attempt, setAttempt] = useState(0);
  const live = LIVE.has(vm.state);

  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);

  useEffect(() => {
    if (!live || !screen.current) return;
    let cancelled = false;
    const target = screen.current;
    setStatus('connecting');
    setError(undefined);
    agent<{ ticket: string }>(host, 'POST', `/v1/vms/${enc(vm.name)}/vnc/ticket`).then(
      ({ ticket }) => {
        if (cancelled) return;
        const r = new RFB(target, consoleUrl(host, vm.name, ticket), { shared: true });
        r.scaleViewport = true;
        r.background = 'var(--console-bg)';
        r.addEventListener('connect', () => setStatus('connected'));
        r.addEventListener('disconnect', () => setStatus('disconnected'));
        r.addEventListener('securityfailure', () =>
          setError(new Error('the VNC server refused the session')),
        );
        rfb.current = r;
      },
      (e: unknown) => {
        if (cancelled) return;
        setError(e as Error);
        setStatus('disconnected');
      },
    );
    return () => {
      cancelled = true;
      rfb.current?.disconnect();
      rfb.current = null;
    };
  }, [host, vm.name, live, attempt]);

  return (
    <section className="vnc" aria-label={`Graphical console of ${vm.name}`}>
      <div className="page-head">
        <h3>Graphical console</h3>
        <span className="muted" role="status" data-testid="vnc-status">
          {live ? status : `the VM is ${vm.state}: start it to see its display`}
        </span>
        <button type="button" onClick={() => rfb.current?.sendCtrlAltDel()} disabled={status !== 'connected'}>
          Send Ctrl+Alt+Del
        </button>
        <button type="button" onClick={reconnect} disabled={!live || status === 'connecting'}>
          Reconnect
        </button>
      </div>
      <ErrorNote error={error} />
      <div className="vnc-screen" ref={screen} data-testid="vnc-screen" />
    </section>
  );
}
