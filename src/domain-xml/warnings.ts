// The import's warning list: every libvirt element vmhop does not carry over is named here,
// so nothing is dropped silently. Owns the wording of "<sound model='ich9'> is not supported
// and was left out" and folds repeats (14 root ports) into one line with a count.
import type { XmlElement } from './xml-tree.js';

/** Attributes that only number or place a device, or hold a secret: not worth a warning's space. */
const QUIET_ATTRS = new Set([
  'id',
  'index',
  'port',
  'ports',
  'autoport',
  'tlsPort',
  'listen',
  'passwd',
  'passwdValidTo',
]);

/** `<sound model='ich9'>`, with the child that says what the device is when the element does not. */
export function describeElement(el: XmlElement): string {
  const attrs = Object.entries(el.attrs)
    .filter(([k]) => !QUIET_ATTRS.has(k) && !k.startsWith('xmlns'))
    .map(([k, v]) => ` ${k}='${v}'`)
    .join('');
  return `<${el.name}${attrs}>${hint(el)}`;
}

function hint(el: XmlElement): string {
  for (const c of el.children) {
    if (c.name === 'model' && c.attrs.type) return ` (model ${c.attrs.type})`;
    if (c.name === 'target' && c.attrs.name) return ` (${c.attrs.name})`;
    if (c.name === 'source' && (c.attrs.file ?? c.attrs.dev)) return ` (${c.attrs.file ?? c.attrs.dev})`;
  }
  return '';
}

export class Warnings {
  private readonly counts = new Map<string, number>();

  add(message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }

  /** `within` names the mapped parent ("disk vda") when the element is one of its children. */
  leftOut(el: XmlElement, opts: { within?: string; why?: string } = {}): void {
    const where = opts.within ? `${opts.within}: ` : '';
    const why = opts.why ? `: ${opts.why}` : '';
    this.add(`${where}${describeElement(el)} is not supported and was left out${why}`);
  }

  list(): string[] {
    return [...this.counts].map(([msg, n]) => (n > 1 ? `${msg} (${n} of them)` : msg));
  }
}
