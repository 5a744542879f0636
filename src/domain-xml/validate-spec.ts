// Passes an imported definition through VmSpec, the gate every VM definition passes, and
// turns a refusal into VMHOP_ERR_XML_INVALID that names the XML element, the value and the
// rule ("<name> 'my vm' is refused: VM name: 1-63 letters, ..."), so the user knows what to edit.
import { VmSpec, type VmSpecInput } from '../protocol/vm-spec.js';
import { xmlInvalid } from './xml-tree.js';

type Path = (string | number)[];

const ELEMENT: Record<string, string> = {
  name: '<name>',
  uuid: '<uuid>',
  vcpus: '<vcpu>',
  memoryMiB: '<memory>',
  machine: "<os><type machine='...'>",
  cpuModel: '<cpu><model>',
  disks: '<devices> disks',
  nics: '<devices> interfaces',
};

const FIX: Record<string, string> = {
  name: '; rename the domain (virsh domrename) or edit <name>',
  volume: '; rename the image file to a volume name vmhop accepts',
};

export function validateSpec(draft: VmSpecInput): VmSpec {
  const result = VmSpec.safeParse(draft);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const value = valueAt(draft, i.path);
    const field = String(i.path[i.path.length - 1] ?? '');
    const unit = field === 'memoryMiB' ? ' MiB' : '';
    return {
      field: i.path.join('.'),
      element: elementOf(draft, i.path),
      value,
      unit,
      rule: i.message,
      fix: FIX[field] ?? '',
    };
  });
  const message = issues
    .map(
      (i) =>
        `${i.element}${i.value === undefined ? '' : ` ${show(i.value)}${i.unit}`} is refused: ${i.rule}${i.fix}`,
    )
    .join('; ');
  throw xmlInvalid(message, { issues: issues.map(({ fix: _fix, unit: _unit, ...rest }) => rest) });
}

function elementOf(draft: VmSpecInput, path: Path): string {
  const [head, index, field] = path;
  if (head === 'boot') return `<os><${String(index ?? 'kernel')}>`;
  if ((head === 'disks' || head === 'nics') && typeof index === 'number') {
    const item = (draft[head] as Record<string, unknown>[] | undefined)?.[index];
    const label = head === 'disks' ? `disk ${String(item?.target)}` : `interface #${index + 1}`;
    return field === undefined ? label : `${label} ${String(field)}`;
  }
  return ELEMENT[String(head)] ?? String(path.join('.'));
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

function show(value: unknown): string {
  if (Array.isArray(value)) return `(${value.length} of them)`;
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}
