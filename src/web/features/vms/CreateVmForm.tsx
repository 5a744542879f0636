// Create a VM on a host: the test guest (optionally with a fresh disk), or a VM booting a
// kernel given by path. Validation is the agent's: its message shows here as it comes.
import { useState, type FormEvent } from 'react';
import type { VmSpecInput } from '../../../protocol/vm-spec.js';
import { agent, enc, request } from '../../api/http.js';
import { ErrorNote } from '../../components/ErrorNote.js';
import { Modal } from '../../components/Modal.js';
import type { HostVms } from './VmsPage.js';
import { freeGuestAddress, testGuestSpec } from './test-guest.js';

const num = (v: FormDataEntryValue | null) => (v === null || v === '' ? undefined : Number(v));

async function create(host: string, f: FormData, allVms: HostVms[]): Promise<void> {
  const name = String(f.get('name'));
  const memoryMiB = num(f.get('memory')) ?? 256;
  const vcpus = num(f.get('vcpus')) ?? 1;
  const diskMiB = num(f.get('diskMiB'));
  const pool = String(f.get('pool') || 'default');
  const volume = `${name}-vda.qcow2`;
  let spec: VmSpecInput;
  if (f.get('kind') === 'test-guest') {
    const files = await request<{ kernel: string; initrd: string }>('GET', '/api/test-guest');
    const ip = freeGuestAddress(allVms.flatMap((h) => h.vms));
    if (!ip) throw new Error('no free address left in the guest subnet 10.77.0.0/24');
    spec = testGuestSpec(
      {
        name,
        memoryMiB,
        vcpus,
        bridge: String(f.get('bridge') || 'br0'),
        memDirtyMiB: num(f.get('memDirty')),
        ...(diskMiB ? { disk: { pool, volume } } : {}),
      },
      ip,
      files,
    );
  } else {
    spec = {
      name,
      uuid: crypto.randomUUID(),
      vcpus,
      memoryMiB,
      boot: {
        kind: 'kernel',
        kernel: String(f.get('kernel')),
        ...(f.get('initrd') ? { initrd: String(f.get('initrd')) } : {}),
        cmdline: String(f.get('cmdline') ?? ''),
      },
      disks: diskMiB ? [{ target: 'vda', pool, volume }] : [],
    };
  }
  if (diskMiB) {
    await agent(host, 'POST', `/v1/pools/${enc(pool)}/volumes`, {
      name: volume,
      sizeBytes: diskMiB * 1024 * 1024,
      format: 'qcow2',
    });
  }
  try {
    await agent(host, 'POST', '/v1/vms', { spec });
  } catch (e) {
    // Nothing half-made: the volume made for this VM goes with the failed define.
    if (diskMiB)
      await agent(host, 'DELETE', `/v1/pools/${enc(pool)}/volumes/${enc(volume)}`).catch(() => undefined);
    throw e;
  }
  if (f.get('start')) await agent(host, 'POST', `/v1/vms/${enc(name)}/start`, {});
}

export function CreateVmForm(props: {
  hosts: string[];
  defaultHost: string;
  allVms: HostVms[];
  onClose: () => void;
  onCreated: () => void;
}) {
  const [kind, setKind] = useState<'test-guest' | 'kernel'>('test-guest');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(undefined);
    create(String(f.get('host')), f, props.allVms).then(
      () => {
        props.onCreated();
        props.onClose();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
        props.onCreated(); // a VM defined before its start failed shows up in the list
      },
    );
  };
  return (
    <Modal title="Create a virtual machine" onClose={props.onClose} wide>
      <form onSubmit={submit} aria-label="Create a virtual machine">
        <fieldset className="radios">
          <legend>Kind</legend>
          <label>
            <input
              type="radio"
              name="kind"
              value="test-guest"
              checked={kind === 'test-guest'}
              onChange={() => setKind('test-guest')}
            />
            Test guest
          </label>
          <label>
            <input
              type="radio"
              name="kind"
              value="kernel"
              checked={kind === 'kernel'}
              onChange={() => setKind('kernel')}
            />
            Kernel boot
          </label>
        </fieldset>
        <div className="grid">
          <label>
            Host
            <select name="host" defaultValue={props.defaultHost}>
              {props.hosts.map((h) => (
                <option key={h}>{h}</option>
              ))}
            </select>
          </label>
          <label>
            Name
            <input name="name" required autoComplete="off" />
          </label>
          <label>
            Memory (MiB)
            <input name="memory" type="number" defaultValue={256} />
          </label>
          <label>
            vCPUs
            <input name="vcpus" type="number" defaultValue={1} />
          </label>
          <label>
            Disk size (MiB, empty for none)
            <input name="diskMiB" type="number" min={1} />
          </label>
          <label>
            Disk pool
            <input name="pool" defaultValue="default" />
          </label>
          {kind === 'test-guest' ? (
            <>
              <label>
                Bridge
                <input name="bridge" defaultValue="br0" />
              </label>
              <label>
                Memory dirtier (MiB, empty for none)
                <input name="memDirty" type="number" min={1} />
              </label>
            </>
          ) : (
            <>
              <label>
                Kernel path
                <input name="kernel" required />
              </label>
              <label>
                Initrd path
                <input name="initrd" />
              </label>
              <label className="span2">
                Kernel command line
                <input name="cmdline" defaultValue="console=ttyS0" />
              </label>
            </>
          )}
        </div>
        <label className="check">
          <input type="checkbox" name="start" defaultChecked /> Start it after creating
        </label>
        <ErrorNote error={error} label="Create error" />
        <div className="buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
