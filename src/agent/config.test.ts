import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { name: 'a', listen: '127.0.0.1:8443', insecure: true };
const load = (migrationPorts: unknown) => loadConfig(undefined, { ...base, migrationPorts });

describe('migrationPorts', () => {
  it('defaults to 49152-49251', () => {
    expect(loadConfig(undefined, base).migrationPorts).toEqual({ first: 49152, count: 100 });
  });

  it('takes a range off libvirt’s', () => {
    expect(load({ first: 49300, count: 64 }).migrationPorts).toEqual({ first: 49300, count: 64 });
    expect(load({ first: 65534, count: 2 }).migrationPorts).toEqual({ first: 65534, count: 2 });
  });

  it.each([
    [{ first: 80, count: 100 }, /migrationPorts\.first: 80 is not a port of 1024\.\.65535.*"first": 49300/],
    [{ first: 70000, count: 2 }, /migrationPorts\.first: 70000 is not a port of 1024\.\.65535/],
    [{ first: 49300, count: 1 }, /migrationPorts\.count: 1 ports: a range holds 2\.\.1000 .*--copy-storage/],
    [{ first: 49300, count: 5000 }, /migrationPorts\.count: 5000 ports: a range holds 2\.\.1000/],
    [
      { first: 65500, count: 100 },
      /migrationPorts\.count: 65500\+100 runs past port 65535 \(last would be 65599\); lower first to at most 65436 or count to at most 36/,
    ],
    [{ first: 49300.5, count: 10 }, /migrationPorts\.first: .*integer/i],
    [{ first: 49300 }, /migrationPorts\.count: /],
    [{ first: 49300, count: 10, last: 49400 }, /migrationPorts: .*last/],
  ])('refuses %j, naming the value and the fix', (ports, message) => {
    let err: unknown;
    try {
      load(ports);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'VMHOP_ERR_USAGE', message: expect.stringMatching(message) });
  });
});

describe('cluster.etcd', () => {
  const cluster = (etcd: unknown) => loadConfig(undefined, { ...base, cluster: { etcd } });

  it('takes endpoints and fills the lease and prefix defaults', () => {
    expect(cluster({ endpoints: ['http://10.99.0.5:2379'] }).cluster?.etcd).toEqual({
      endpoints: ['http://10.99.0.5:2379'],
      leaseTtlSeconds: 10,
      prefix: '/vmhop/v1/',
    });
  });

  it.each([
    [{ endpoints: [] }, /cluster\.etcd\.endpoints/],
    [{ endpoints: ['10.99.0.5:2379'] }, /an etcd endpoint is http\(s\):\/\/HOST:PORT/],
    [{ endpoints: ['http://10.99.0.5:2379'], leaseTtlSeconds: 2 }, /cluster\.etcd\.leaseTtlSeconds/],
    [{ endpoints: ['http://10.99.0.5:2379'], prefix: 'vmhop' }, /prefix starts and ends with \//],
    [{ endpoints: ['http://10.99.0.5:2379'], peers: {} }, /cluster\.etcd: .*peers/],
  ])('refuses %j, naming the setting', (etcd, message) => {
    let err: unknown;
    try {
      cluster(etcd);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'VMHOP_ERR_USAGE', message: expect.stringMatching(message) });
  });
});
