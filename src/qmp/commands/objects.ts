// QOM objects vmhop creates at run time: tls-creds-x509 (certificates for the migration stream and
// NBD), authz-simple (which client certificate a TLS server accepts) and secret (a key password).
// object-add takes a union of these types only. A secret is read from a file, never passed
// inline: QMP arguments end up in error messages and traffic logs.
// qom-get reads one property, e.g. the running machine's versioned type.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type TlsCredsX509Object = {
  'qom-type': 'tls-creds-x509';
  id: string;
  /** Directory with ca-cert.pem and server-cert.pem/server-key.pem or client-cert.pem/client-key.pem. */
  dir: string;
  endpoint: 'client' | 'server';
  /** QEMU's default is true: the server requires and verifies a client certificate. */
  'verify-peer'?: boolean;
  priority?: string;
  'sanity-check'?: boolean;
  /** Id of a `secret` object holding the private key's password. */
  passwordid?: string;
};

export type SecretObject = {
  'qom-type': 'secret';
  id: string;
  file: string;
  format?: 'raw' | 'base64';
};

/**
 * Admits exactly one identity: for a TLS server, the client certificate's distinguished name as
 * gnutls prints it (RFC 4514, e.g. `CN=host-a` for a subject of only a CN). Named by a server's
 * `tls-authz` (migrate-set-parameters, nbd-server-start); anyone else is refused after the handshake
 * with "TLS x509 authz check for DN is denied".
 */
export type AuthzSimpleObject = {
  'qom-type': 'authz-simple';
  id: string;
  identity: string;
};

export type ObjectAddArgs = TlsCredsX509Object | AuthzSimpleObject | SecretObject;

/** Fails with GenericError when the id exists or the credential files cannot be read. */
export async function objectAdd(
  qmp: QmpExecutor,
  args: ObjectAddArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('object-add', { ...args }, options);
}

export async function objectDel(
  qmp: QmpExecutor,
  args: { id: string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('object-del', { ...args }, options);
}

/** One QOM property, e.g. `{ path: '/machine', property: 'type' }` -> `pc-i440fx-7.2-machine`. */
export function qomGet<T = unknown>(
  qmp: QmpExecutor,
  args: { path: string; property: string },
  options?: QmpCommandOptions,
): Promise<T> {
  return qmp.execute<T>('qom-get', { ...args }, options);
}
