// What a host certificate may name, checked before any key or file is made: the host name
// (the CN, which peers know each other by), its IP addresses (IPv4 and IPv6 SAN entries) and
// DNS names (dNSName SAN entries, RFC 1123 host names). Every refusal names the value and the fix.
import { isIP } from 'node:net';
import { VmhopError } from '../protocol/errors.js';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface CertNames {
  /** The CN: the host's name as its agent config and its peers spell it. */
  name: string;
  ips: string[];
  dns: string[];
}

function usage(message: string, details: Record<string, unknown>): VmhopError {
  return new VmhopError('VMHOP_ERR_USAGE', message, details);
}

export function checkHostName(name: string): string {
  if (!HOST_NAME.test(name)) {
    throw usage(
      `host name \`${name}\` is not valid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (the agent's "name")`,
      { name },
    );
  }
  return name;
}

/** An IPv4 or IPv6 address as text; brackets and zone ids are refused rather than guessed away. */
export function checkIp(ip: string): string {
  if (ip.startsWith('[') || ip.endsWith(']')) {
    throw usage(`\`${ip}\` is not an IP address: give an IPv6 address without brackets, e.g. --ip fd00::11`, {
      ip,
    });
  }
  if (ip.includes('%')) {
    throw usage(
      `\`${ip}\` carries a zone id, which a certificate cannot name: give the address without %ZONE`,
      {
        ip,
      },
    );
  }
  if (isIP(ip) === 0) {
    throw usage(
      `\`${ip}\` is not an IP address: give an IPv4 (10.0.0.11) or IPv6 (fd00::11) address; names go to --dns`,
      { ip },
    );
  }
  return ip;
}

const fitsLabels = (s: string) => s.length <= 253 && s.split('.').every((l) => DNS_LABEL.test(l));
const allNumeric = (s: string) => s.split('.').every((l) => /^\d+$/.test(l));

/** An RFC 1123 host name; no wildcards (a host certificate names one host) and no trailing dot. */
export function checkDnsName(dns: string): string {
  if (!fitsLabels(dns)) {
    throw usage(
      `\`${dns}\` is not a DNS name: use labels of letters, digits and '-' joined by '.', e.g. host1.example.org (no wildcard, no trailing dot, at most 253 characters)`,
      { dns },
    );
  }
  if (allNumeric(dns)) {
    throw usage(`\`${dns}\` looks like an IP address, not a DNS name: give it with --ip`, { dns });
  }
  return dns.toLowerCase();
}

/**
 * Checks every name; the host name is added as a DNS name when it is one (so a peer reached by
 * that name matches), and repeats are dropped.
 */
export function checkCertNames(name: string, ips: string[], dns: string[]): CertNames {
  checkHostName(name);
  const checkedIps = ips.map(checkIp);
  const checkedDns = dns.map(checkDnsName);
  if (fitsLabels(name) && !allNumeric(name)) checkedDns.unshift(name.toLowerCase());
  return { name, ips: [...new Set(checkedIps)], dns: [...new Set(checkedDns)] };
}
