// libvirt's scaled integers (<memory unit='GiB'>4</memory>) to whole MiB, as VmSpec counts.
// Follows libvirt's virScaleInteger: units are case-insensitive, "k"/"KiB" are powers of
// 1024, "KB" powers of 1000, "b"/"bytes" are bytes, and no unit means KiB.
// BigInt keeps an exabyte-sized value exact until the range check refuses it.
import { xmlInvalid } from './xml-tree.js';

const POWERS = 'kmgtpe';

function unitBytes(unit: string): bigint | undefined {
  const u = unit.toLowerCase();
  if (u === 'b' || u === 'bytes') return 1n;
  const m = /^([kmgtpe])(ib|b)?$/.exec(u);
  if (!m?.[1]) return undefined;
  const base = m[2] === 'b' ? 1000n : 1024n;
  return base ** BigInt(POWERS.indexOf(m[1]) + 1);
}

/**
 * `where` names the element in errors ("<memory>"). `exact` is false when the value was not a
 * whole number of MiB and was rounded down.
 */
export function toMiB(
  value: string,
  unit: string | undefined,
  where: string,
): { mib: number; exact: boolean } {
  if (!/^\d+$/.test(value)) {
    throw xmlInvalid(`${where} '${value}' is not a whole number`, { element: where, value });
  }
  const scale = unitBytes(unit ?? 'KiB');
  if (scale === undefined) {
    throw xmlInvalid(
      `${where} has unit '${unit}'; libvirt units are b, KiB, MiB, GiB, TiB, KB, MB, GB, ...`,
      {
        element: where,
        unit,
      },
    );
  }
  const bytes = BigInt(value) * scale;
  const mib = bytes / 2n ** 20n;
  return { mib: Number(mib), exact: mib * 2n ** 20n === bytes };
}
