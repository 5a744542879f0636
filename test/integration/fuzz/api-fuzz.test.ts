// The fuzz suite that keeps the agent's API closed (issue 12): every route the app serves,
// client and peer, through inject() with hostile params, queries, bodies and credentials.
// Per request: no 5xx; a refusal where one is due (no or wrong token: 401; a peer route without
// a certificate: never 2xx; a broken field: 4xx); the app still answers /health; and after the
// run no file outside the agents' state and pool folders was made, changed or removed, and no
// prototype was polluted. Seeded (VMHOP_FUZZ_SEED replays a run) and bounded in count and time.
// Peer bodies reach their handlers through a second app over the target agent's services with
// authentication off; the certificate cases over real TLS are in peer-tls-fuzz.test.ts.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../../src/agent/http/app.js';
import { hashToken } from '../../../src/credentials/token-hash.js';
import type { IssuedCert } from '../../../src/credentials/ca.js';
import { clusterCerts, PeerClient } from '../helpers/peer-tls.js';
import { TestAgent, TOKEN } from '../helpers/test-agent.js';
import { kernelVm } from '../helpers/vm-specs.js';
import { baseBodies } from './base-bodies.js';
import {
  deepJson,
  HOSTILE_QUERIES,
  HOSTILE_SEGMENTS,
  hostileStrings,
  HUGE_BODY,
  MALFORMED_JSON,
  VALID_NAMES,
} from './hostile-values.js';
import { mutations } from './mutations.js';
import { Prng, seedFromEnv } from './prng.js';
import { catalogue, HIDDEN_ROUTES, urlOf, type Route } from './route-catalogue.js';
import { diff, makeSandbox, outsideFiles, stateFiles, type Sandbox } from './sandbox.js';
import { Tally, type Sent } from './tally.js';
import { knownFailure } from './known-failures.js';

/**
 * Bounds: the whole file stays well under a minute on two cores. Each test below gets its own
 * slice of requests and time, so neither a slow machine nor a growing route catalogue spends the
 * budget of the last ones (a shared cap once left the TLS phase with nothing to send).
 */
const MAX_REQUESTS_PER_PHASE = 1_500;
const PHASE_MS = 6_000;
/** Field mutations per body and category, sampled by the seed. */
const PER_BODY = {
  'wrong-types': 60,
  'hostile-strings': 90,
  'missing-fields': 15,
  'extreme-numbers': 20,
  'unknown-fields': 12,
};
const OTHER_TOKEN = 'token-of-agent-p';
/** Routes with a body limit above the API's 4 MiB (an offline commit's manifests): 5 MiB is read and refused by its schema. */
const RAISED_BODY_LIMIT = new Set(['POST /v1/peer/offline/:id/commit']);

const seed = seedFromEnv();
const rng = new Prng(seed);
const tally = new Tally(seed);
let sb: Sandbox;
let certs: Record<string, IssuedCert>;
/** A certificate named `a` from another CA. */
let stranger: IssuedCert;
/** The agent under test for client routes (token `secret`). */
let t: TestAgent;
/** A second agent: target of peer bodies (auth off) and holder of another token. */
let p: TestAgent;
let peerApp: App;
let otherApp: App;
let routes: Route[];
let bodies: Record<string, unknown[]>;
let outsideBefore: Record<string, string>;
let stateBefore: Record<string, string>;
const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
const crashes: string[] = [];
const onCrash = (e: unknown) => crashes.push(String((e as Error)?.stack ?? e));
/** The tests whose time slice or the request cap ended them early. */
const truncated = new Set<string>();
let phase = { name: '', started: 0, sentBefore: 0 };

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  sb = await makeSandbox();
  certs = await clusterCerts(join(sb.root, 'tls'), ['t', 'p', 'a', 'x']);
  stranger = (await clusterCerts(join(sb.root, 'elsewhere'), ['a'])).a as IssuedCert;
  t = await TestAgent.start({ name: 't', tls: certs.t });
  p = await TestAgent.start({ name: 'p', tls: certs.p });
  for (const a of [t, p]) {
    const boot = { kind: 'kernel' as const, kernel: `${a.dataDir}/vmlinuz-fuzz`, cmdline: '' };
    const def = await a.api('POST', '/v1/vms', { spec: kernelVm('web1', { boot }) });
    if (def.status !== 201) throw new Error(`seeding web1: ${def.text}`);
    await a.createVolume('d1.qcow2', 1 << 20);
  }
  peerApp = await buildApp({
    services: p.services,
    auth: { tokenHashes: [], disabled: true },
    logger: false,
  });
  otherApp = await buildApp({
    services: p.services,
    auth: { tokenHashes: [hashToken(OTHER_TOKEN)] },
    logger: false,
  });
  routes = await catalogue(t.app);
  const poolDir = join(t.dataDir, 'fzpool');
  await mkdir(poolDir);
  bodies = baseBodies({ sandbox: sb.root, poolDir, clientBoot: t.dataDir, peerBoot: p.dataDir });
  outsideBefore = await outsideFiles(sb, [t.root, p.root]);
  stateBefore = await stateFiles([t.dataDir, t.runDir, p.dataDir, p.runDir]);
}, 30_000);

afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await peerApp?.close();
  await otherApp?.close();
  await t?.close();
  await p?.close();
  await sb?.cleanup();
});

/**
 * A hostile segment must be refused, but for `.` and `..` (the URL parser resolves them before
 * routing: another route answers), `constructor` (a valid name), and the peer volume lookup,
 * which answers {volume: null} for any name it has no volume of (checked below).
 */
function mustRefuseSegment(r: Route, seg: string): boolean {
  if (seg === '.' || seg === '..' || seg === 'constructor') return false;
  return r.path !== '/v1/peer/pools/:pool/volumes/:name';
}

const agentJobState = (id: string) => t.services.jobStore.find(id)?.state;

const key = (r: Route) => `${r.method} ${r.path}`;
const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = { 'content-type': 'application/json' };

beforeEach((ctx) => {
  phase = { name: ctx.task.name, started: Date.now(), sentBefore: tally.total };
});

function budgetLeft(): boolean {
  if (tally.total - phase.sentBefore < MAX_REQUESTS_PER_PHASE && Date.now() - phase.started < PHASE_MS)
    return true;
  truncated.add(phase.name);
  return false;
}

/**
 * Sends one request; `refuse` is what a refusal must look like here (a status list, or any 4xx),
 * undefined when only survival is asked. Records the count and any failure.
 */
async function send(
  category: string,
  app: App,
  req: Sent,
  refuse?: number[] | '4xx' | 'not-2xx',
): Promise<number | undefined> {
  if (!budgetLeft()) return undefined;
  let status: number;
  let text: string;
  try {
    const res = await app.inject({
      method: req.method as InjectOptions['method'],
      url: req.url,
      headers: req.headers ?? {},
      ...(req.body === undefined ? {} : { payload: req.body }),
    });
    status = res.statusCode;
    text = res.body;
  } catch (e) {
    // inject() refuses some requests itself (a header with a NUL): nothing reached the app.
    tally.count(`${category} (client refused)`, 0);
    void e;
    return undefined;
  }
  tally.count(category, status, `${req.method} ${req.url}`);
  if (process.env.VMHOP_FUZZ_DEBUG === category)
    console.log(`${req.method} ${req.url} -> ${status} ${text.slice(0, 300)}`);
  const failure = (why: string) => {
    const f = { category, why, request: req, status, response: text };
    tally.fail(f, knownFailure(f));
  };
  if (status >= 500) failure('5xx');
  else if (refuse === '4xx' && !(status >= 400 && status < 500))
    failure('accepted what must be refused (want 4xx)');
  else if (refuse === 'not-2xx' && status >= 200 && status < 300)
    failure('a peer route answered 2xx without a certificate');
  else if (Array.isArray(refuse) && !refuse.includes(status)) failure(`want ${refuse.join(' or ')}`);
  return status;
}

async function healthy(): Promise<void> {
  for (const app of [t.app, peerApp]) {
    const res = await app.inject({ method: 'GET', url: '/health' });
    tally.count('health', res.statusCode);
    if (res.statusCode !== 200) crashes.push(`/health answered ${res.statusCode}: ${res.body}`);
  }
}

/** The app a route's fuzzed bodies and params go to: peer routes to the auth-off app of `p`. */
const appFor = (r: Route): App => (r.peer ? peerApp : t.app);
const authFor = (r: Route): Record<string, string> => (r.peer ? {} : bearer());
const fuzzable = (r: Route) => !r.hidden;

function expectNoFailures(category: RegExp): void {
  const mine = tally.failures.filter((f) => category.test(f.category));
  expect(mine.length, tally.describeFailures()).toBe(0);
}

describe('fuzzing the agent API', () => {
  it('enumerates the routes from the app, with a generator for each path parameter', () => {
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => r.peer).length).toBeGreaterThan(10);
    for (const k of Object.keys(HIDDEN_ROUTES)) expect(routes.map(key)).toContain(k);
  });

  it('answers the valid base body of every route without a 5xx', async () => {
    for (const r of routes.filter((x) => fuzzable(x) && x.hasBody)) {
      for (const base of bodies[key(r)] ?? [{}]) {
        const body = JSON.stringify(base);
        await send('base', appFor(r), {
          method: r.method,
          url: urlOf(r),
          body,
          headers: { ...authFor(r), ...jsonHeaders },
        });
      }
    }
    expectNoFailures(/^base/);
  }, 30_000);

  it('refuses every route without a token, with a wrong one, and with the token of another agent', async () => {
    const wrong = [
      'Bearer wrong',
      'Bearer ',
      'Bearer',
      'bearer secret',
      'Basic c2VjcmV0',
      `Bearer ${TOKEN} ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${'x'.repeat(10_000)}`,
      'Bearer %73ecret',
    ];
    for (const r of routes) {
      if (HIDDEN_ROUTES[key(r)] === 'open') continue;
      const url = urlOf(r);
      const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : '{}';
      const h = body === undefined ? {} : jsonHeaders;
      await send('auth-missing', t.app, { method: r.method, url, body, headers: h }, [401]);
      for (const w of wrong) {
        await send(
          'auth-wrong',
          t.app,
          { method: r.method, url, body, headers: { ...h, authorization: w } },
          [401],
        );
      }
      await send(
        'auth-other-agent',
        t.app,
        { method: r.method, url, body, headers: { ...h, ...bearer(OTHER_TOKEN) } },
        [401],
      );
    }
    // The other token is a working one, at its own agent.
    expect(
      await send('auth-other-agent', otherApp, {
        method: 'GET',
        url: '/v1/vms',
        headers: bearer(OTHER_TOKEN),
      }),
    ).toBe(200);
    await healthy();
    expectNoFailures(/^auth-/);
  }, 60_000);

  it('never answers a peer route 2xx through inject(), which has no certificate, however the path is spelt', async () => {
    for (const r of routes.filter((x) => x.peer)) {
      const url = urlOf(r);
      const spellings = [
        url,
        url.replace('/v1/peer/', '/v1/%70eer/'),
        url.replace('/v1/peer/', '/v1/%70%65%65%72/'),
      ];
      const body = r.method === 'GET' ? undefined : JSON.stringify(bodies[key(r)]?.[0] ?? {});
      const h = body === undefined ? {} : jsonHeaders;
      for (const u of spellings) {
        await send('peer-no-cert', t.app, { method: r.method, url: u, body, headers: h }, [401]);
        await send(
          'peer-no-cert',
          t.app,
          { method: r.method, url: u, body, headers: { ...h, ...bearer() } },
          [403],
        );
        await send(
          'peer-no-cert',
          t.app,
          { method: r.method, url: u, body, headers: { ...h, 'x-forwarded-client-cert': 'CN=a' } },
          'not-2xx',
        );
      }
    }
    await healthy();
    expectNoFailures(/^peer-no-cert/);
  }, 60_000);

  it('refuses encoded, traversing, overlong and NUL path parameters without a 5xx', async () => {
    for (const r of routes.filter(fuzzable)) {
      for (const param of r.params) {
        for (const seg of HOSTILE_SEGMENTS) {
          const url = urlOf(r, { [param]: seg });
          const body = r.method === 'POST' ? JSON.stringify(bodies[key(r)]?.[0] ?? {}) : undefined;
          const h = { ...authFor(r), ...(body === undefined ? {} : jsonHeaders) };
          const refuse = mustRefuseSegment(r, seg) ? '4xx' : undefined;
          const status = await send('params', appFor(r), { method: r.method, url, body, headers: h }, refuse);
          if (status === 200 && r.path === '/v1/peer/pools/:pool/volumes/:name') {
            const res = await peerApp.inject({ method: 'GET', url });
            if ((res.json() as { volume: unknown }).volume !== null) {
              tally.fail({
                category: 'params',
                why: 'a traversing volume name was looked up',
                request: { method: 'GET', url },
                status,
                response: res.body,
              });
            }
          }
        }
      }
    }
    await healthy();
    expectNoFailures(/^params/);
  }, 60_000);

  it('survives hostile query strings on every route', async () => {
    for (const r of routes.filter(fuzzable)) {
      const qs = r.query.length > 0 ? HOSTILE_QUERIES : rng.sample(HOSTILE_QUERIES, 4);
      for (const q of qs) {
        const body = r.method === 'POST' ? JSON.stringify(bodies[key(r)]?.[0] ?? {}) : undefined;
        await send('query', appFor(r), {
          method: r.method,
          url: urlOf(r, {}, q),
          body,
          headers: { ...authFor(r), ...(body ? jsonHeaders : {}) },
        });
      }
    }
    await healthy();
    expectNoFailures(/^query/);
  }, 60_000);

  it('answers a method no route serves at a path with 404, never a 5xx', async () => {
    const served = new Set(routes.map(key));
    for (const path of new Set(routes.filter(fuzzable).map((r) => r.path))) {
      const r = routes.find((x) => x.path === path) as Route;
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
        if (served.has(`${method} ${path}`)) continue;
        const body = method === 'GET' || method === 'OPTIONS' ? undefined : '{}';
        await send(
          'methods',
          appFor(r),
          {
            method,
            url: urlOf({ ...r, method }),
            body,
            headers: { ...authFor(r), ...(body ? jsonHeaders : {}) },
          },
          [404],
        );
      }
    }
    expectNoFailures(/^methods/);
  }, 30_000);

  it('refuses malformed JSON, other content types, bodies over 4 MiB and deep nesting', async () => {
    for (const r of routes.filter((x) => fuzzable(x) && x.method !== 'GET')) {
      const app = appFor(r);
      const auth = authFor(r);
      const send1 = (
        cat: string,
        body: string | Buffer,
        headers: Record<string, string>,
        refuse?: number[] | '4xx',
      ) =>
        send(cat, app, { method: r.method, url: urlOf(r), body, headers: { ...auth, ...headers } }, refuse);
      for (const text of MALFORMED_JSON) {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        const poisoned = /__proto__|"constructor"/.test(text);
        const refuse = !parses || poisoned || (text === '' && r.hasBody) ? '4xx' : undefined;
        await send1('malformed-json', text, jsonHeaders, refuse);
      }
      const valid = JSON.stringify(bodies[key(r)]?.[0] ?? {});
      // Bytes that are not UTF-8: an overlong `../` inside the first string, and 0xFF outside any.
      const firstString = /"([^"\\]*)"\s*:\s*"[^"\\]*"/.exec(valid);
      const overlong = firstString
        ? Buffer.concat([
            Buffer.from(valid.slice(0, firstString.index + firstString[0].lastIndexOf('"'))),
            Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0xc0, 0xaf]),
            Buffer.from(valid.slice(firstString.index + firstString[0].lastIndexOf('"'))),
          ])
        : Buffer.from([0x7b, 0xc0, 0xae, 0x7d]);
      await send1('malformed-json', overlong, jsonHeaders);
      await send1(
        'malformed-json',
        Buffer.concat([Buffer.from(valid), Buffer.from([0xff, 0xfe])]),
        jsonHeaders,
        '4xx',
      );
      for (const ct of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        await send1(
          'content-type',
          valid,
          { 'content-type': ct },
          r.hasBody || r.method === 'POST' ? '4xx' : undefined,
        );
      }
      await send1('huge', HUGE_BODY, jsonHeaders, RAISED_BODY_LIMIT.has(key(r)) ? '4xx' : [413]);
      for (const depth of [10_000, 100_000]) {
        await send1('deep', deepJson(depth, 'array'), jsonHeaders, r.hasBody ? '4xx' : undefined);
        await send1('deep', deepJson(depth, 'object'), jsonHeaders, r.hasBody ? '4xx' : undefined);
        const base = bodies[key(r)]?.[0];
        if (base && typeof base === 'object') {
          const field = Object.keys(base)[0] as string;
          const nested = JSON.stringify({ ...base, [field]: '\u0001' }).replace(
            '"\u0001"',
            deepJson(depth, 'object'),
          );
          await send1('deep', nested, jsonHeaders, r.hasBody ? '4xx' : undefined);
        }
      }
    }
    // A GET's body is never read: only survival is asked.
    await send('huge', t.app, {
      method: 'GET',
      url: '/v1/vms',
      body: HUGE_BODY,
      headers: { ...bearer(), ...jsonHeaders },
    });
    await healthy();
    expectNoFailures(/^(malformed-json|content-type|huge|deep)/);
  }, 60_000);

  it('refuses wrong types and hostile names field by field, and survives missing fields, extreme numbers and unknown keys', async () => {
    const hostile = hostileStrings(sb.root);
    for (const r of routes.filter((x) => fuzzable(x) && x.hasBody)) {
      const bases = bodies[key(r)] ?? [{}];
      for (const base of bases) {
        const all = mutations(key(r), base, hostile);
        for (const [cat, n] of Object.entries(PER_BODY)) {
          for (const m of rng.sample(
            all.filter((x) => x.category === cat),
            n,
          )) {
            await send(
              m.category,
              appFor(r),
              { method: r.method, url: urlOf(r), body: m.text, headers: { ...authFor(r), ...jsonHeaders } },
              m.mustRefuse ? '4xx' : undefined,
            );
          }
        }
      }
      await healthy();
    }
    expectNoFailures(/^(wrong-types|hostile-strings|missing-fields|extreme-numbers|unknown-fields)/);
  }, 60_000);

  it('over real TLS on loopback: refuses peer routes without a certificate, with one of another CA, and from a cluster host the job does not name; survives hostile Last-Event-IDs', async () => {
    const url = await t.listen();
    const as = (cert?: IssuedCert) => new PeerClient(url, (certs.t as IssuedCert).ca, cert);
    const [none, other, x, a] = [as(), as(stranger), as(certs.x), as(certs.a)];
    const call = async (
      category: string,
      c: PeerClient,
      method: 'GET' | 'POST',
      path: string,
      body?: unknown,
      want?: number[] | '4xx',
    ) => {
      if (!budgetLeft()) return undefined;
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await c.call(method, path, text);
      tally.count(category, res.status, `${method} ${path}`);
      const f = (why: string) => {
        const failure = {
          category,
          why,
          request: { method, url: path, body: text },
          status: res.status,
          response: res.text,
        };
        tally.fail(failure, knownFailure(failure));
      };
      if (res.status >= 500) f('5xx');
      else if (want === '4xx' && !(res.status >= 400 && res.status < 500))
        f('accepted what must be refused (want 4xx)');
      else if (Array.isArray(want) && !want.includes(res.status)) f(`want ${want.join(' or ')}`);
      return res;
    };
    try {
      for (const r of routes.filter((z) => z.peer)) {
        const body = r.method === 'GET' ? undefined : (bodies[key(r)]?.[0] ?? {});
        await call('peer-tls-no-cert', none, r.method as 'GET' | 'POST', urlOf(r), body, [401]);
        await call('peer-tls-other-ca', other, r.method as 'GET' | 'POST', urlOf(r), body, [401]);
      }
      // A job of `a` on t, then every call on it from `x`, a valid cluster host the job does not name.
      const prep = bodies['POST /v1/peer/offline']?.[0] as Record<string, unknown>;
      const job = '11111111-1111-4111-8111-111111111111';
      const made = await call(
        'peer-tls-job-source',
        a,
        'POST',
        '/v1/peer/offline',
        { ...prep, jobId: job, vm: 'fztls' },
        [200],
      );
      expect(made?.status, made?.text).toBe(200);
      for (const r of routes.filter((z) => z.peer && z.params.includes('id'))) {
        const body =
          r.method === 'GET' ? undefined : { ...((bodies[key(r)]?.[0] as object) ?? {}), jobId: job };
        await call('peer-tls-not-of-job', x, r.method as 'GET' | 'POST', urlOf(r, { id: job }), body, [403]);
      }
      for (const path of ['/v1/peer/offline', '/v1/peer/migrations']) {
        const base = bodies[`POST ${path}`]?.[0] as Record<string, unknown>;
        await call('peer-tls-not-of-job', x, 'POST', path, { ...base, jobId: job }, [403]);
        for (const h of rng.sample(
          hostileStrings(sb.root).filter((x) => !VALID_NAMES.has(x)),
          10,
        )) {
          await call('peer-tls-hostile', x, 'POST', path, { ...base, source: h }, '4xx');
          await call(
            'peer-tls-hostile',
            a,
            'POST',
            path,
            { ...base, vm: h, spec: { ...(base.spec as object), name: h } },
            '4xx',
          );
        }
        await call('peer-tls-hostile', a, 'POST', path, deepJson(100_000, 'array'), '4xx');
        await call('peer-tls-hostile', a, 'POST', path, '{"__proto__":{"polluted":1}}', '4xx');
      }
      // Client routes take no peer certificate in place of a token.
      for (const r of routes.filter((z) => !z.peer && !z.hidden).slice(0, 12)) {
        const body = r.method === 'GET' ? undefined : (bodies[key(r)]?.[0] ?? {});
        if (r.method === 'GET' || r.method === 'POST')
          await call('peer-tls-cert-as-client', a, r.method, urlOf(r), body, [403]);
      }
      // The event stream, which inject() cannot end: hostile Last-Event-IDs with a token.
      const d = new Agent({ connect: { ca: readFileSync((certs.t as IssuedCert).ca) } });
      try {
        for (const last of ['-1', '1e309', 'NaN', '9'.repeat(400), '0x10', '__proto__', '1;2', '']) {
          if (!budgetLeft()) break;
          const ac = new AbortController();
          const res = await request(`${url}/v1/events`, {
            dispatcher: d,
            signal: ac.signal,
            headers: { ...bearer(), 'last-event-id': last },
          });
          tally.count('events-last-event-id', res.statusCode, `GET /v1/events ${last.slice(0, 20)}`);
          if (res.statusCode >= 500) {
            const failure = {
              category: 'events-last-event-id',
              why: '5xx',
              request: { method: 'GET', url: '/v1/events', headers: { 'last-event-id': last } },
              status: res.statusCode,
              response: '',
            };
            tally.fail(failure, knownFailure(failure));
          }
          ac.abort();
          await res.body.dump().catch(() => undefined);
        }
      } finally {
        await d.close();
      }
      expect(agentJobState(job)).toBe('running');
    } finally {
      for (const c of [none, other, x, a]) await c.close();
    }
    await healthy();
    expectNoFailures(/^peer-tls/);
  }, 60_000);

  it('leaves no file outside the state and pool folders, no prototype polluted, and no crash', async () => {
    await healthy();
    const outside = diff(outsideBefore, await outsideFiles(sb, [t.root, p.root]));
    const state = diff(stateBefore, await stateFiles([t.dataDir, t.runDir, p.dataDir, p.runDir]));
    const polluted = Object.getOwnPropertyNames(Object.prototype).sort();
    const rel = (f: string) => f.replace(t.root, 't').replace(p.root, 'p');
    const doc = tally.report('api', {
      routes: routes.length,
      peerRoutes: routes.filter((r) => r.peer).length,
      routesWithoutBaseBody: routes.filter((r) => r.hasBody && !bodies[key(r)]).map(key),
      crashes: crashes.length,
      filesOutside: outside,
      // What the run made or changed where it may: each agent's data and run folders.
      stateFolders: {
        created: state.created.map(rel),
        changed: state.changed.map(rel),
        removed: state.removed.map(rel),
      },
      truncatedByBound: [...truncated],
      bounds: { maxRequestsPerPhase: MAX_REQUESTS_PER_PHASE, phaseMs: PHASE_MS },
    });
    expect(doc.failures, tally.describeFailures()).toBe(0);
    expect(crashes, `replay with VMHOP_FUZZ_SEED=${seed}`).toEqual([]);
    expect(outside).toEqual({ created: [], removed: [], changed: [] });
    expect(polluted).toEqual(protoKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(tally.total, `seed ${seed}`).toBeGreaterThan(1_000);
  }, 30_000);
});
