// What a host certificate may name: each refusal names the value and says what to give instead.
import { describe, expect, it } from 'vitest';
import { checkCertNames, checkDnsName, checkIp } from './names.js';

describe('certificate names', () => {
  it.each(['10.0.0.11', '0.0.0.0', 'fd00::11', '::1', '::ffff:10.0.0.1', '2001:db8:0:0:0:0:0:1'])(
    'accepts the IP address %s',
    (ip) => expect(checkIp(ip)).toBe(ip),
  );

  it.each([
    ['300.1.1.1', /`300.1.1.1` is not an IP address: give an IPv4 .* or IPv6 .* address; names go to --dns/],
    ['10.0.0', /not an IP address/],
    ['host1', /names go to --dns/],
    ['fd00::g', /not an IP address/],
    ['[::1]', /without brackets/],
    ['fe80::1%eth0', /zone id/],
  ])('refuses the IP address %s', (ip, message) => {
    expect(() => checkIp(ip)).toThrow(message);
  });

  it.each(['host1', 'host-1.example.org', 'a.b', 'X1.EXAMPLE'])('accepts the DNS name %s', (dns) => {
    expect(checkDnsName(dns)).toBe(dns.toLowerCase());
  });

  it.each([
    ['-host', /not a DNS name/],
    ['host_1', /not a DNS name/],
    ['host1.', /no trailing dot/],
    ['*.example.org', /no wildcard/],
    ['a..b', /not a DNS name/],
    [`${'a'.repeat(64)}.org`, /not a DNS name/],
    ['10.0.0.11', /looks like an IP address, not a DNS name: give it with --ip/],
  ])('refuses the DNS name %s', (dns, message) => {
    expect(() => checkDnsName(dns)).toThrow(message);
  });

  it('adds the host name as a DNS name only when it is one, without repeats', () => {
    expect(checkCertNames('host1', ['10.0.0.1', '10.0.0.1'], ['host1', 'h.example'])).toEqual({
      name: 'host1',
      ips: ['10.0.0.1'],
      dns: ['host1', 'h.example'],
    });
    expect(checkCertNames('host_b', [], []).dns).toEqual([]);
  });

  it('refuses a host name with a space or a slash, naming it', () => {
    expect(() => checkCertNames('host 1', [], [])).toThrow(/host name `host 1` is not valid/);
    expect(() => checkCertNames('a/b', [], [])).toThrow(/host name `a\/b` is not valid/);
  });
});
