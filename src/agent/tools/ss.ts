// iproute2's `ss -K`: closes TCP sockets of this network namespace by their peer address
// (SOCK_DESTROY, kernel CONFIG_INET_DIAG_DESTROY). The migration engine uses it to end an NBD
// connection whose peer went silent: QEMU 7.2 cannot be told to give up on one, and TCP alone
// retransmits for ~15 minutes. Addresses and ports are validated; nothing else reaches argv.
import { isIP } from 'node:net';
import { VmhopError } from '../../protocol/errors.js';

/** Resolves with how many sockets to `address:port` were closed (0 when the kernel lacks SOCK_DESTROY). */
export async function destroySockets(address: string, port: number): Promise<number> {
  if (!isIP(address) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new VmhopError('VMHOP_ERR_USAGE', `not an IP address and port: ${address}:${port}`, {
      address,
      port,
    });
  }
  const { execa } = await import('execa');
  const r = await execa('ss', ['-K', '-t', '-n', 'dst', address, 'dport', '=', String(port)], {
    reject: false,
    stdin: 'ignore',
    timeout: 5_000,
  });
  // ss lists each socket it closed after a header line.
  return r.exitCode === 0 ? Math.max(0, r.stdout.trim().split('\n').length - 1) : 0;
}
