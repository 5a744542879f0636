// The lifecycle buttons a VM's state allows (virsh start/shutdown/destroy/suspend/resume/
// save/restore/undefine), plus Migrate. A refused action shows the agent's message here; a
// save, restore or shutdown shows its progress while it runs.
import { useState } from 'react';
import type { JobInfo } from '../../../protocol/migration.js';
import type { VmInfo } from '../../../protocol/vm.js';
import { agent, enc } from '../../api/http.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { MigrateDialog } from '../migrate/MigrateDialog.js';
import { ActionProgress, LONG_ACTIONS } from './ActionProgress.js';

type Action = 'start' | 'shutdown' | 'destroy' | 'suspend' | 'resume' | 'save' | 'restore';

const ACTIONS: { action: Action; label: string; when: VmInfo['state'][] }[] = [
  { action: 'start', label: 'Start', when: ['shutoff', 'crashed'] },
  { action: 'restore', label: 'Restore', when: ['shutoff'] },
  { action: 'shutdown', label: 'Shut down', when: ['running'] },
  { action: 'suspend', label: 'Pause', when: ['running'] },
  { action: 'resume', label: 'Resume', when: ['paused'] },
  { action: 'save', label: 'Save', when: ['running', 'paused'] },
  { action: 'destroy', label: 'Force off', when: ['running', 'paused', 'crashed'] },
];

export function VmActions(props: { host: string; vm: VmInfo; hosts: string[]; onChanged: () => void }) {
  const { host, vm } = props;
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [dialog, setDialog] = useState<'delete' | 'migrate'>();
  const [progressId, setProgressId] = useState<string>();
  const run = (a: Action) => {
    setBusy(a);
    setError(undefined);
    const id = LONG_ACTIONS.has(a) ? crypto.randomUUID() : undefined;
    setProgressId(id);
    agent(host, 'POST', `/v1/vms/${enc(vm.name)}/${a}`, id ? { progressId: id } : {}).then(
      () => {
        setBusy(undefined);
        props.onChanged();
      },
      (e: unknown) => {
        setBusy(undefined);
        setError(e);
      },
    );
  };
  const showJob = () => {
    agent<{ job: JobInfo | null }>(host, 'GET', `/v1/vms/${enc(vm.name)}/job`).then((r) => {
      if (r.job) window.location.hash = `#/jobs/${enc(host)}/${enc(r.job.id)}`;
    }, setError);
  };
  return (
    <div className="actions">
      <div className="buttons compact" role="group" aria-label={`Actions for ${vm.name}`}>
        {ACTIONS.filter((a) => a.when.includes(vm.state)).map((a) => (
          <button
            key={a.action}
            type="button"
            disabled={busy !== undefined}
            aria-busy={busy === a.action}
            onClick={() => run(a.action)}
          >
            {busy === a.action ? `${a.label}…` : a.label}
          </button>
        ))}
        {(vm.state === 'running' || vm.state === 'shutoff') && (
          <button type="button" onClick={() => setDialog('migrate')}>
            Migrate
          </button>
        )}
        {vm.state === 'migrating' && (
          <button type="button" onClick={showJob}>
            Show migration
          </button>
        )}
        {(vm.state === 'shutoff' || vm.state === 'moved') && (
          <button type="button" className="danger-outline" onClick={() => setDialog('delete')}>
            Delete
          </button>
        )}
      </div>
      {busy && progressId && (
        <ActionProgress
          host={host}
          vm={vm.name}
          label={ACTIONS.find((x) => x.action === busy)?.label ?? busy}
          progressId={progressId}
        />
      )}
      <ErrorNote error={error} label={`Error for ${vm.name}`} />
      {dialog === 'delete' && (
        <ConfirmDialog
          title={`Delete ${vm.name}?`}
          message={`The definition of ${vm.name} is removed from ${host}. Its volumes stay in their pools.`}
          confirmLabel="Delete"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await agent(host, 'DELETE', `/v1/vms/${enc(vm.name)}`);
            props.onChanged();
          }}
        />
      )}
      {dialog === 'migrate' && (
        <MigrateDialog host={host} vm={vm} hosts={props.hosts} onClose={() => setDialog(undefined)} />
      )}
    </div>
  );
}
