import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmhopError } from '../protocol/errors.js';
import { importDomainXml, type ImportContext } from './import-domain.js';
import { fixtureHost, fixturesDir, readJson } from './testing/fixtures.js';
import { libvirtToolsMissing, validateAgainstSchema } from './testing/libvirt-tools.js';

const dir = join(fixturesDir, 'import');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => f.replace(/\.xml$/, ''));

function contextFor(name: string): ImportContext {
  const file = join(dir, `${name}.context.json`);
  return fixtureHost(existsSync(file) ? readJson<Partial<ImportContext>>(file) : {});
}

/** The outcome as the golden file records it: the result, or the error's code and message. */
function outcome(name: string): { kind: 'expected' | 'error'; value: unknown } {
  try {
    return {
      kind: 'expected',
      value: importDomainXml(readFileSync(join(dir, `${name}.xml`), 'utf8'), contextFor(name)),
    };
  } catch (e) {
    if (!(e instanceof VmhopError)) throw e;
    return { kind: 'error', value: { code: e.code, message: e.message } };
  }
}

describe('importDomainXml golden files', () => {
  it.each(cases)('%s.xml imports as recorded', (name) => {
    const got = outcome(name);
    const golden = join(dir, `${name}.${got.kind}.json`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, JSON.stringify(got.value, null, 2) + '\n');
    expect(existsSync(golden), `${name}.${got.kind}.json exists (the case's other outcome is recorded)`).toBe(
      true,
    );
    expect(got.value).toEqual(readJson(golden));
  });
});

const skipReason = libvirtToolsMissing();
describe.skipIf(skipReason !== undefined)(
  `import fixtures are real libvirt XML${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    // These two are broken on purpose, in ways libvirt refuses too.
    const wellFormed = cases.filter((c) => c !== 'malformed' && c !== 'missing-name');
    it.each(wellFormed)('%s.xml passes virt-xml-validate', (name) => {
      const r = validateAgainstSchema(readFileSync(join(dir, `${name}.xml`), 'utf8'));
      expect(r.output).toContain('validates');
    });
  },
);

const minimal = (devices: string, extra = ''): string => `<domain type='qemu'>
  <name>t1</name>
  <uuid>6F1C2A7E2F0B4F6E9D7A1C2B3D4E5F60</uuid>
  <memory>262144</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>${extra}
  <devices>${devices}</devices>
</domain>`;

function importError(xml: string, ctx: ImportContext = fixtureHost()): VmhopError {
  try {
    importDomainXml(xml, ctx);
  } catch (e) {
    if (e instanceof VmhopError) return e;
    throw e;
  }
  throw new Error('the import did not fail');
}

describe('importDomainXml', () => {
  it('writes the UUID dashed and lower-case, and reads memory without a unit as KiB', () => {
    const { spec, warnings } = importDomainXml(minimal(''), fixtureHost());
    expect(spec.uuid).toBe('6f1c2a7e-2f0b-4f6e-9d7a-1c2b3d4e5f60');
    expect(spec.memoryMiB).toBe(256);
    expect(warnings).toEqual([]);
  });

  it('runs a kvm domain without a warning on a host with KVM', () => {
    const xml = readFileSync(join(dir, 'kvm-without-kvm.xml'), 'utf8');
    const tcg = importDomainXml(xml, fixtureHost({ kvmAvailable: false })).warnings;
    const kvm = importDomainXml(xml, fixtureHost({ kvmAvailable: true })).warnings;
    expect(tcg.filter((w) => !kvm.includes(w))).toEqual([
      "<domain type='kvm'>: this host has no KVM, so the VM runs with TCG (software emulation, much slower)",
    ]);
  });

  it('puts a libvirt network on the bridge the caller names for it, with a warning', () => {
    const xml = readFileSync(join(dir, 'network-interface.xml'), 'utf8');
    const ctx = fixtureHost({ networkBridge: (n) => (n === 'default' ? 'virbr0' : undefined) });
    const { spec, warnings } = importDomainXml(xml, ctx);
    expect(spec.nics).toEqual([{ mac: '52:54:00:8f:3a:d2', bridge: 'virbr0', model: 'virtio-net-pci' }]);
    expect(warnings).toContain(
      "interface 52:54:00:8f:3a:d2: libvirt network 'default' became bridge 'virbr0'",
    );
  });

  it('rounds memory that is not a whole number of MiB down, with a warning', () => {
    const xml = minimal('').replace('<memory>262144</memory>', "<memory unit='KB'>300000</memory>");
    const { spec, warnings } = importDomainXml(xml, fixtureHost());
    expect(spec.memoryMiB).toBe(286);
    expect(warnings).toEqual(['<memory> is not a whole number of MiB: the VM gets 286 MiB']);
  });

  it.each([
    [
      'an unknown memory unit',
      minimal('').replace('<memory>', "<memory unit='furlongs'>"),
      /unit 'furlongs'/,
    ],
    [
      'a xen domain',
      minimal('').replace("type='qemu'", "type='xen'"),
      /<domain type='xen'> is not supported/,
    ],
    ['an arm guest', minimal('').replace("arch='x86_64'", "arch='aarch64'"), /arch='aarch64'/],
    ['two roots', `${minimal('')}<domain/>`, /one root element, found 2/],
    ['another root', '<network><name>default</name></network>', /root element is <network>/],
    ['a DOCTYPE', `<!DOCTYPE domain [<!ENTITY x "y">]>${minimal('')}`, /DOCTYPE/],
    ['an empty file', '  \n', /empty/],
    ['a missing uuid', minimal('').replace(/<uuid>.*<\/uuid>/, ''), /no <uuid>/],
    [
      'a bad uuid',
      minimal('').replace(/<uuid>.*<\/uuid>/, '<uuid>not-a-uuid</uuid>'),
      /<uuid> 'not-a-uuid' is refused/,
    ],
    [
      'a disk with a relative path',
      minimal("<disk type='file'><driver type='raw'/><source file='img/x.raw'/><target dev='vda'/></disk>"),
      /must be an absolute path/,
    ],
    [
      'a disk walking out of its pool',
      minimal(
        "<disk type='file'><driver type='raw'/><source file='/var/lib/libvirt/images/../../../etc/shadow'/><target dev='vda'/></disk>",
      ),
      /without '.' or '..'/,
    ],
    [
      'a network disk',
      minimal(
        "<disk type='network'><source protocol='rbd' name='pool/img'/><target dev='vda' bus='virtio'/></disk>",
      ),
      /<disk type='network'> is not supported/,
    ],
    [
      'an encrypted disk',
      minimal(
        "<disk type='file'><driver type='qcow2'/><source file='/var/lib/libvirt/images/a.qcow2'/><target dev='vda'/><encryption format='luks'/></disk>",
      ),
      /encrypted/,
    ],
    [
      'two disks on one target',
      minimal(
        "<disk type='file'><driver type='raw'/><source file='/var/lib/libvirt/images/a'/><target dev='vda'/></disk>" +
          "<disk type='file'><driver type='raw'/><source file='/var/lib/libvirt/images/b'/><target dev='vda'/></disk>",
      ),
      /two disks use <target dev='vda'>/,
    ],
    [
      'a NIC without a MAC',
      minimal("<interface type='bridge'><source bridge='br0'/></interface>"),
      /no <mac/,
    ],
    [
      'a macvtap NIC',
      minimal(
        "<interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eth0' mode='bridge'/></interface>",
      ),
      /<interface type='direct'> is not supported.*enslaving eth0/,
    ],
    [
      'a kernel command line with a tab',
      minimal('').replace('</os>', '<kernel>/k</kernel><cmdline>a\tb</cmdline></os>'),
      /<os><cmdline>/,
    ],
  ])('refuses %s with VMHOP_ERR_XML_INVALID', (_what, xml, message) => {
    const e = importError(xml);
    expect(e.code).toBe('VMHOP_ERR_XML_INVALID');
    expect(e.message).toMatch(message);
  });

  it('names the rule when there are more disks than VmSpec allows', () => {
    const disks = [...'abcdefghijklmnopq'].map(
      (l) =>
        `<disk type='file'><driver type='raw'/><source file='/var/lib/libvirt/images/${l}'/><target dev='vd${l}'/></disk>`,
    );
    expect(importError(minimal(disks.join(''))).message).toBe(
      '<devices> disks (17 of them) is refused: Array must contain at most 16 element(s)',
    );
  });

  it('names every disk outside the pools in one error, with a pool-define command for each', () => {
    const e = importError(readFileSync(join(dir, 'outside-pools.xml'), 'utf8'));
    expect(e.code).toBe('VMHOP_ERR_PATH_OUTSIDE_POOL');
    expect(e.details.suggestions).toEqual([
      'vmhop pool-define NAME --kind dir --path /home/alice/vms',
      'vmhop pool-define NAME --kind block --device /dev/sdb',
    ]);
  });

  it('gives the line of a malformed element', () => {
    const e = importError(readFileSync(join(dir, 'malformed.xml'), 'utf8'));
    expect(e.details).toMatchObject({ line: 12 });
  });
});
