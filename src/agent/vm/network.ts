// Tap devices for a VM's NICs, each enslaved to the bridge its NIC names. Names derive
// from the VM uuid and NIC index (15 characters at most), so a restarted agent finds them.
import { VmhopError } from '../../protocol/errors.js';
import type { VmSpec } from '../../protocol/vm-spec.js';

export const tapName = (uuid: string, index: number) => `vt${uuid.replaceAll('-', '').slice(0, 8)}n${index}`;

async function ip(
  args: string[],
  allowFail = false,
): Promise<{ ok: boolean; stderr: string; stdout: string }> {
  const { execa } = await import('execa');
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0 && !allowFail) {
    throw new VmhopError('VMHOP_ERR_COMMAND_FAILED', `ip ${args.join(' ')} failed: ${r.stderr.trim()}`, {
      args,
    });
  }
  return { ok: r.exitCode === 0, stderr: r.stderr, stdout: r.stdout };
}

export async function listBridges(): Promise<string[]> {
  const r = await ip(['-j', 'link', 'show', 'type', 'bridge'], true);
  return r.ok ? (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname) : [];
}

/** Fails before anything is made when a NIC names a bridge this host does not have. */
export async function checkBridges(spec: VmSpec): Promise<void> {
  const have = await listBridges();
  for (const n of spec.nics) {
    if (!have.includes(n.bridge)) {
      throw new VmhopError(
        'VMHOP_ERR_VM_SPEC_INVALID',
        `bridge \`${n.bridge}\` of VM \`${spec.name}\` does not exist on this host; bridges here: ${have.join(', ') || '(none)'}`,
        { vm: spec.name, bridge: n.bridge, bridges: have },
      );
    }
  }
}

export async function createTaps(spec: VmSpec): Promise<string[]> {
  const made: string[] = [];
  try {
    for (const [i, n] of spec.nics.entries()) {
      const tap = tapName(spec.uuid, i);
      await ip(['link', 'del', tap], true);
      await ip(['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      made.push(tap);
      await ip(['link', 'set', tap, 'master', n.bridge, 'up']);
    }
    return made;
  } catch (e) {
    await removeTaps(made);
    throw e;
  }
}

export async function removeTaps(taps: string[]): Promise<void> {
  for (const t of taps) await ip(['link', 'del', t], true);
}

export const tapsOf = (spec: VmSpec) => spec.nics.map((_, i) => tapName(spec.uuid, i));
