// QEMU's two spellings of a socket address. Newer commands (blockdev-add of an nbd client,
// query-migrate's socket-address) take the flat SocketAddress; nbd-server-start in QEMU 7.2 still
// takes SocketAddressLegacy, where the fields sit under `data`. Mixing them up is a GenericError
// at run time, so both are typed and one converts to the other.

export type SocketAddress =
  | { type: 'unix'; path: string; abstract?: boolean; tight?: boolean }
  | {
      type: 'inet';
      host: string;
      port: string;
      numeric?: boolean;
      to?: number;
      ipv4?: boolean;
      ipv6?: boolean;
      'keep-alive'?: boolean;
    }
  | { type: 'vsock'; cid: string; port: string }
  | { type: 'fd'; str: string };

export type SocketAddressLegacy =
  | { type: 'unix'; data: { path: string; abstract?: boolean; tight?: boolean } }
  | { type: 'inet'; data: Omit<Extract<SocketAddress, { type: 'inet' }>, 'type'> }
  | { type: 'vsock'; data: { cid: string; port: string } }
  | { type: 'fd'; data: { str: string } };

export function toSocketAddressLegacy(address: SocketAddress): SocketAddressLegacy {
  const { type, ...data } = address;
  return { type, data } as SocketAddressLegacy;
}
