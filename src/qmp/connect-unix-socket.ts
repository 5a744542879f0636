// Opens the unix socket of a QMP monitor, retrying while QEMU has not created it yet. QEMU binds
// and listens some milliseconds after the process starts, so ENOENT and ECONNREFUSED are retried,
// but only a bounded number of times and until a deadline; any other error (EACCES, ENOTSOCK...)
// means a wrong path or permissions and fails at once.

import { createConnection, type Socket } from 'node:net';
import { watchDeadline } from './deadline.js';
import { QmpError } from './errors.js';

export interface ConnectUnixSocketOptions {
  /** Absolute time (Date.now() ms) after which no further attempt is made. */
  deadline: number;
  signal?: AbortSignal | undefined;
  retryIntervalMs: number;
  maxAttempts: number;
}

const retriedCodes = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

function attempt(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    watchDeadline({ timeoutMs: ms, signal }, { onTimeout: resolve, onAbort: () => resolve() });
  });
}

function aborted(path: string, reason: unknown): QmpError {
  return new QmpError('QMP_ABORTED', `connecting to QMP socket ${path} was aborted`, { cause: reason });
}

export async function connectUnixSocket(path: string, options: ConnectUnixSocketOptions): Promise<Socket> {
  const { signal } = options;
  let lastError: NodeJS.ErrnoException | undefined;
  for (let attempts = 1; ; attempts++) {
    if (signal?.aborted) throw aborted(path, signal.reason);
    try {
      const socket = await attempt(path);
      if (signal?.aborted) {
        socket.destroy();
        throw aborted(path, signal.reason);
      }
      return socket;
    } catch (error) {
      if (error instanceof QmpError) throw error;
      lastError = error as NodeJS.ErrnoException;
    }
    const retriable = retriedCodes.has(lastError.code ?? '');
    const remainingMs = options.deadline - Date.now();
    if (!retriable || attempts >= options.maxAttempts || remainingMs <= 0) {
      const why = retriable ? ` after ${attempts} attempts` : '';
      throw new QmpError(
        'QMP_CONNECT_FAILED',
        `cannot connect to QMP socket ${path}${why}: ${lastError.message}`,
        {
          cause: lastError,
        },
      );
    }
    await pause(Math.min(options.retryIntervalMs, remainingMs), signal);
  }
}
