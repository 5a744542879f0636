// Where the copied disks go and which are copied (virsh migrate's --migrate-disks; vmhop's
// --target-pool), for the modes that copy disks. The disks on a shared pool stay where both
// hosts see them; by default every other disk is copied (the agent's own choice).
import type { PoolInfo } from '../../../protocol/storage.js';
import type { VmInfo } from '../../../protocol/vm.js';
import type { OptionFields } from './options-form.js';

const GiB = 1024 ** 3;

export function DiskFields(props: {
  vm: VmInfo;
  /** Pools of the source (their kinds), and of the target (the choices of target pool). */
  sourcePools: PoolInfo[] | undefined;
  targetPools: PoolInfo[] | undefined;
  target: string | undefined;
  liveCopy: boolean;
  value: OptionFields;
  onChange: (v: OptionFields) => void;
}) {
  const { value, onChange } = props;
  const kind = (pool: string) => props.sourcePools?.find((p) => p.name === pool)?.kind;
  const automatic = props.vm.spec.disks.filter((d) => kind(d.pool) !== 'shared').map((d) => d.target);
  const picked = value.migrateDisks ?? automatic;
  const toggle = (target: string, on: boolean) => {
    const next = props.vm.spec.disks
      .map((d) => d.target)
      .filter((t) => (t === target ? on : picked.includes(t)));
    const same = next.length === automatic.length && next.every((t) => automatic.includes(t));
    onChange({ ...value, migrateDisks: same ? undefined : next });
  };
  return (
    <fieldset>
      <legend>Disks</legend>
      <label>
        Target pool{props.target ? ` on ${props.target}` : ''}
        <select value={value.targetPool} onChange={(e) => onChange({ ...value, targetPool: e.target.value })}>
          <option value="">the pool of the same name as on the source</option>
          {(props.targetPools ?? []).map((p) => (
            <option key={p.name} value={p.name}>
              {p.name} ({p.kind}, {(p.freeBytes / GiB).toFixed(1)} GiB free)
            </option>
          ))}
        </select>
      </label>
      {props.liveCopy && (
        <div className="checks" role="group" aria-label="Disks to copy">
          {props.vm.spec.disks.length === 0 && <p className="hint">The VM has no disks.</p>}
          {props.vm.spec.disks.map((d) => {
            const shared = kind(d.pool) === 'shared';
            return (
              <label key={d.target} className="check">
                <input
                  type="checkbox"
                  checked={!shared && picked.includes(d.target)}
                  disabled={shared}
                  onChange={(e) => toggle(d.target, e.target.checked)}
                />
                Copy {d.target} ({d.pool}/{d.volume})
                {shared && <span className="hint"> on a shared pool: stays where both hosts see it</span>}
              </label>
            );
          })}
        </div>
      )}
    </fieldset>
  );
}
