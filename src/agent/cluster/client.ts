// The etcd3 client as cluster mode configures it, and the one bound every call runs under.
// etcd3's defaults retry three times, hold a host's circuit open 5 s and back a watch off up to
// 30 s; a host cut off from etcd would then hang its callers. Here every unary call carries a
// gRPC deadline and a race against the same deadline, and is retried only on another endpoint.
import { readFileSync } from 'node:fs';
import {
  ConsecutiveBreaker,
  ConstantBackoff,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  noop,
  retry,
} from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { VmhopError } from '../../protocol/errors.js';
import type { AgentConfig } from '../config.js';

export type ClusterEtcdConfig = NonNullable<AgentConfig['cluster']>['etcd'];

/** How long one etcd call may take before its caller gets an error (the commit's ~3 s). */
export const CALL_TIMEOUT_MS = 3_000;

export function createClient(cfg: ClusterEtcdConfig, callTimeoutMs = CALL_TIMEOUT_MS): Etcd3 {
  const options: IOptions = {
    hosts: cfg.endpoints,
    // A path to etcd that drops packets (no reset) leaves the HTTP/2 connection looking alive
    // until TCP gives up, minutes later: on the test bed a host cut off for 20 s was still not
    // back 20 s after its link was. gRPC pings find a dead connection in 5 + 2 s (etcd refuses
    // pings more often than its --grpc-keepalive-min-time, 5 s), and reconnects back off 2 s at
    // most instead of grpc-js's 120 s.
    grpcOptions: {
      'grpc.keepalive_time_ms': 5_000,
      'grpc.keepalive_timeout_ms': 2_000,
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    // Streams (watch, keep-alive) live long; their liveness is judged by answers, not deadlines.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      // A broken host is skipped for 1 s, not etcd3's 5 s: a host back in touch re-registers soon.
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 1_000,
          breaker: new ConsecutiveBreaker(3),
        }),
      global:
        cfg.endpoints.length > 1
          ? retry(handleWhen(isRecoverableError), {
              maxAttempts: cfg.endpoints.length - 1,
              backoff: new ConstantBackoff(50),
            })
          : noop,
      // etcd3 takes the first back-off step (it calls next() on it for the later ones).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }).next(),
    },
  };
  if (cfg.tls) {
    options.credentials = {
      rootCertificate: readFileSync(cfg.tls.ca),
      ...(cfg.tls.cert ? { certChain: readFileSync(cfg.tls.cert) } : {}),
      ...(cfg.tls.key ? { privateKey: readFileSync(cfg.tls.key) } : {}),
    };
  }
  return new Etcd3(options);
}

export class CallTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'CallTimeoutError';
  }
}

/**
 * `p`, or CallTimeoutError after `ms`. The gRPC deadline ends the call itself; this race also
 * bounds what precedes it in etcd3 (waiting for a lease grant, a host's circuit, a retry).
 */
export async function bounded<T>(p: PromiseLike<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** VMHOP_ERR_CLUSTER_UNREACHABLE for an etcd call `what` that failed or got no answer. */
export function unreachable(
  what: string,
  endpoints: string[],
  cause: unknown,
  details: Record<string, unknown> = {},
): VmhopError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new VmhopError(
    'VMHOP_ERR_CLUSTER_UNREACHABLE',
    `${what}: etcd did not answer (${reason}; endpoints ${endpoints.join(', ')}); check that etcd runs and this host reaches it (\`etcdctl --endpoints ${endpoints.join(',')} endpoint health\`)`,
    { endpoints, reason, ...details },
    cause,
  );
}
