// The migrate dialog: pick a target (each host is dry-run first: only viable ones can be
// picked, the others say why), a mode and options; the pre-flight of the chosen target is
// shown before the user confirms. Starting the job leads to its progress page.
import { useEffect, useState } from 'react';
import type { JobInfo, PreflightCheck } from '../../../protocol/migration.js';
import type { PoolInfo } from '../../../protocol/storage.js';
import type { VmInfo } from '../../../protocol/vm.js';
import { agent } from '../../api/http.js';
import { useData } from '../../api/use-data.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Modal } from '../../components/Modal.js';
import { DiskFields } from './DiskFields.js';
import { OptionsFields } from './OptionsFields.js';
import { PreflightList } from './PreflightList.js';
import {
  DEFAULT_FIELDS,
  MODE_CHOICES,
  toRequest,
  type ModeChoice,
  type OptionFields,
} from './options-form.js';

type Check = { checks?: PreflightCheck[]; error?: unknown };

function whyNot(c: Check | undefined): string {
  if (!c) return 'checking…';
  if (c.error) return (c.error as Error).message;
  const failed = (c.checks ?? []).filter((x) => !x.ok);
  return failed.length
    ? failed.map((x) => `${x.name}: ${x.detail}`).join('; ')
    : 'all pre-flight checks pass';
}
const viable = (c: Check | undefined) => !!c?.checks && !c.error && c.checks.every((x) => x.ok);

export function MigrateDialog(props: { host: string; vm: VmInfo; hosts: string[]; onClose: () => void }) {
  const targets = props.hosts.filter((h) => h !== props.host);
  const [choice, setChoice] = useState<ModeChoice>(props.vm.state === 'running' ? 'live-shared' : 'offline');
  const [fields, setFields] = useState<OptionFields>(DEFAULT_FIELDS);
  const [target, setTarget] = useState<string>();
  const [checks, setChecks] = useState<Record<string, Check>>({});
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  // Every change of mode or options re-runs the dry runs (after typing settles).
  useEffect(() => {
    let stale = false;
    setChecks({});
    const t = window.setTimeout(() => {
      for (const to of targets) {
        agent<{ preflight: PreflightCheck[] }>(
          props.host,
          'POST',
          '/v1/migrations',
          toRequest(props.vm.name, to, choice, fields, true),
        )
          .then(
            (r) => ({ checks: r.preflight }),
            (e: unknown) => ({ error: e }),
          )
          .then((c: Check) => {
            if (!stale) setChecks((m) => ({ ...m, [to]: c }));
          });
      }
    }, 350);
    return () => {
      stale = true;
      window.clearTimeout(t);
    };
  }, [choice, JSON.stringify(fields), targets.join(','), props.host, props.vm.name]);

  const chosen = target && viable(checks[target]) ? target : targets.find((t) => viable(checks[t]));
  const shown = chosen ?? targets[0];
  const shownCheck = shown ? checks[shown] : undefined;
  const pools = (host: string | undefined) => () =>
    host ? agent<{ pools: PoolInfo[] }>(host, 'GET', '/v1/pools').then((r) => r.pools) : Promise.resolve([]);
  const sourcePools = useData(pools(props.host), [props.host]);
  const targetPools = useData(pools(shown), [shown]);

  const start = () => {
    if (!chosen) return;
    setBusy(true);
    setError(undefined);
    agent<{ job: JobInfo }>(
      props.host,
      'POST',
      '/v1/migrations',
      toRequest(props.vm.name, chosen, choice, fields, false),
    ).then(
      (r) => {
        props.onClose();
        window.location.hash = `#/jobs/${encodeURIComponent(props.host)}/${encodeURIComponent(r.job.id)}`;
      },
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };

  return (
    <Modal title={`Migrate ${props.vm.name} from ${props.host}`} onClose={props.onClose} wide>
      <fieldset className="radios">
        <legend>Target host</legend>
        {targets.length === 0 && <p>No other host is connected: add one on the Hosts page.</p>}
        {targets.map((t) => (
          <label key={t} className={viable(checks[t]) ? '' : 'disabled'}>
            <input
              type="radio"
              name="target"
              value={t}
              checked={chosen === t}
              disabled={!viable(checks[t])}
              aria-describedby={`why-${t}`}
              onChange={() => setTarget(t)}
            />
            {t}
            <span id={`why-${t}`} className="hint">
              {whyNot(checks[t])}
            </span>
          </label>
        ))}
      </fieldset>
      <fieldset className="radios two">
        <legend>Mode</legend>
        {MODE_CHOICES.map((m) => (
          <label key={m.value}>
            <input
              type="radio"
              name="mode"
              value={m.value}
              checked={choice === m.value}
              onChange={() => setChoice(m.value)}
            />
            {m.label}
            <span className="hint">{m.hint}</span>
          </label>
        ))}
      </fieldset>
      <OptionsFields value={fields} onChange={setFields} />
      {choice !== 'live-shared' && (
        <DiskFields
          vm={props.vm}
          sourcePools={sourcePools.data}
          targetPools={targetPools.data}
          target={shown}
          liveCopy={choice.startsWith('live-copy')}
          value={fields}
          onChange={setFields}
        />
      )}
      <section aria-labelledby="preflight-title" className="preflight-box">
        <h3 id="preflight-title">Pre-flight{shown ? ` on ${shown}` : ''}</h3>
        {!shownCheck && shown && <p aria-live="polite">Checking…</p>}
        {shownCheck?.error !== undefined && <ErrorNote error={shownCheck.error} label="Pre-flight error" />}
        {shownCheck?.checks && (
          <PreflightList checks={shownCheck.checks} label={`Pre-flight checks on ${shown}`} />
        )}
      </section>
      <ErrorNote error={error} label="Migration error" />
      <div className="buttons">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" className="primary" disabled={!chosen || busy} onClick={start}>
          {chosen ? `Migrate to ${chosen}` : 'Migrate'}
        </button>
      </div>
    </Modal>
  );
}
