// The migration options of the dialog (virsh migrate's --bandwidth, --downtime,
// --auto-converge, --postcopy, --parallel-connections, --compressed, --timeout and
// --timeout-suspend/--timeout-postcopy; vmhop's --policy).
import { POLICIES, type PolicyName } from '../../../protocol/policy.js';
import type { OptionFields, TimeoutActionChoice } from './options-form.js';

const TIMEOUT_ACTIONS: { value: TimeoutActionChoice; label: string }[] = [
  { value: 'abort', label: 'cancel the migration (the source keeps running)' },
  { value: 'suspend', label: 'pause the guest so the copy can finish' },
  { value: 'postcopy', label: 'switch to post-copy' },
];

export function OptionsFields({
  value,
  onChange,
}: {
  value: OptionFields;
  onChange: (v: OptionFields) => void;
}) {
  const set = <K extends keyof OptionFields>(k: K, v: OptionFields[K]) => onChange({ ...value, [k]: v });
  return (
    <fieldset>
      <legend>Options</legend>
      <label>
        Policy
        <select
          value={value.policy}
          onChange={(e) => set('policy', e.target.value as OptionFields['policy'])}
          aria-describedby="policy-hint"
        >
          <option value="">the host's default</option>
          {(Object.keys(POLICIES) as PolicyName[]).map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <span id="policy-hint" className="hint">
          {value.policy
            ? POLICIES[value.policy].summary
            : "what the live migration may do to finish: the agent's migrationPolicy"}
        </span>
      </label>
      <div className="grid">
        <label>
          Bandwidth limit (MiB/s)
          <input
            type="number"
            inputMode="decimal"
            value={value.bandwidthMiBs}
            placeholder="no limit"
            onChange={(e) => set('bandwidthMiBs', e.target.value)}
          />
        </label>
        <label>
          Max downtime (ms)
          <input
            type="number"
            value={value.maxDowntimeMs}
            placeholder="300"
            onChange={(e) => set('maxDowntimeMs', e.target.value)}
          />
        </label>
        <label>
          Parallel connections
          <input
            type="number"
            value={value.parallel}
            placeholder="1"
            onChange={(e) => set('parallel', e.target.value)}
          />
        </label>
        <label>
          Compression
          <select
            value={value.compressed}
            onChange={(e) => set('compressed', e.target.value as OptionFields['compressed'])}
          >
            <option value="">none</option>
            <option value="zstd">zstd</option>
            <option value="zlib">zlib</option>
          </select>
        </label>
        <label>
          Timeout (s)
          <input
            type="number"
            value={value.timeoutS}
            placeholder="none"
            onChange={(e) => set('timeoutS', e.target.value)}
          />
        </label>
        <label>
          At the timeout
          <select
            value={value.timeoutAction}
            disabled={value.timeoutS.trim() === ''}
            onChange={(e) => set('timeoutAction', e.target.value as TimeoutActionChoice)}
          >
            {TIMEOUT_ACTIONS.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="checks">
        <label className="check">
          <input
            type="checkbox"
            checked={value.autoConverge}
            onChange={(e) => set('autoConverge', e.target.checked)}
          />
          Auto-converge (slow the guest if it dirties RAM too fast)
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.postcopy}
            onChange={(e) => set('postcopy', e.target.checked)}
          />
          Allow post-copy (shared storage: the VM moves at once and fetches the rest of its RAM)
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.postcopy && value.postcopyAfterPrecopy}
            disabled={!value.postcopy}
            onChange={(e) => set('postcopyAfterPrecopy', e.target.checked)}
          />
          Switch to post-copy after the first RAM pass
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.keepSource}
            onChange={(e) => set('keepSource', e.target.checked)}
          />
          Keep the definition on the source (marked as moved)
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.keepState}
            onChange={(e) => set('keepState', e.target.checked)}
          />
          Keep the running state (offline: save, move, restore with no reboot)
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={value.deleteSource}
            onChange={(e) => set('deleteSource', e.target.checked)}
          />
          Delete source disks after success
        </label>
      </div>
    </fieldset>
  );
}
