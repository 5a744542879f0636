// The VM's serial console log (the tail the agent keeps), refreshed on demand.
import { useEffect, useRef } from 'react';
import { agentText, enc } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';

export function ConsoleLog({ host, vm }: { host: string; vm: string }) {
  const log = useData(() => agentText(host, `/v1/vms/${enc(vm)}/console?bytes=16384`), [host, vm]);
  const pre = useRef<HTMLPreElement>(null);
  // The newest lines matter most: show the end of the log, as a terminal would.
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [log.data]);
  return (
    <section className="console" aria-label={`Serial console of ${vm}`}>
      <div className="page-head">
        <h3>Serial console</h3>
        <button type="button" onClick={log.reload} disabled={log.loading}>
          Refresh console
        </button>
      </div>
      <ErrorNote error={log.error} />
      <pre ref={pre} tabIndex={0} aria-label={`Console log of ${vm}`}>
        {log.data || (log.loading ? 'loading…' : '(empty)')}
      </pre>
    </section>
  );
}
