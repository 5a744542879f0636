// Host memory as /proc/meminfo tells it: the total (a VM larger than that can never run
// here) and what is available now (what a VM about to start can have).
import { readFileSync } from 'node:fs';

export interface HostMemory {
  totalBytes: number;
  availableBytes: number;
}

export function hostMemory(meminfo = readFileSync('/proc/meminfo', 'utf8')): HostMemory {
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  return { totalBytes: kib('MemTotal'), availableBytes: kib('MemAvailable') };
}
