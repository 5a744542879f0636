// QEMU processes that outlive the agent: started detached (-daemonize, -pidfile), and
// recognised again after an agent restart only if /proc/PID/cmdline is a QEMU carrying
// this VM's uuid, so a recycled PID is never mistaken for the VM.
import { readFile } from 'node:fs/promises';
import { VmhopError } from '../../protocol/errors.js';

export async function spawnDetached(argv: string[], pidfile: string, vmName: string): Promise<number> {
  const [file, ...args] = argv;
  const { execa } = await import('execa');
  const r = await execa(file as string, args, { reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.exitCode !== 0) {
    throw new VmhopError(
      'VMHOP_ERR_QEMU_START_FAILED',
      `QEMU for VM \`${vmName}\` did not start (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
      { vm: vmName, stderr: r.stderr },
    );
  }
  return Number((await readFile(pidfile, 'utf8')).trim());
}

export async function isQemuOf(pid: number, uuid: string): Promise<boolean> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return /qemu-system/.test(argv[0] ?? '') && argv.some((a, i) => a === '-uuid' && argv[i + 1] === uuid);
  } catch {
    return false;
  }
}
