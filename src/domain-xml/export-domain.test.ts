import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmSpec, type VmSpecInput } from '../protocol/vm-spec.js';
import { exportDomainXml, type ExportContext } from './export-domain.js';
import { importDomainXml } from './import-domain.js';
import { fixtureDiskPath, fixtureHost, fixturesDir, readJson } from './testing/fixtures.js';
import { defineAndDump, libvirtToolsMissing, validateAgainstSchema } from './testing/libvirt-tools.js';

const dir = join(fixturesDir, 'export');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.json'))
  .map((f) => f.replace(/\.input\.json$/, ''));

interface ExportInput {
  accel: ExportContext['accel'];
  spec: VmSpecInput;
}

function load(name: string): { spec: VmSpec; ctx: ExportContext } {
  const input = readJson<ExportInput>(join(dir, `${name}.input.json`));
  return { spec: VmSpec.parse(input.spec), ctx: exportContext(input.accel) };
}

function exportContext(accel: ExportContext['accel']): ExportContext {
  return { accel, diskPath: (d) => fixtureDiskPath(d.pool, d.volume) };
}

/** Every spec the tests know: the export inputs and the results of the import golden files. */
const allSpecs: [string, VmSpec][] = [
  ...cases.map((c): [string, VmSpec] => [`export/${c}`, load(c).spec]),
  ...readdirSync(join(fixturesDir, 'import'))
    .filter((f) => f.endsWith('.expected.json'))
    .map((f): [string, VmSpec] => [
      `import/${f}`,
      VmSpec.parse(readJson<{ spec: unknown }>(join(fixturesDir, 'import', f)).spec),
    ]),
];

const reimport = (xml: string) => importDomainXml(xml, fixtureHost({ kvmAvailable: true }));

describe('exportDomainXml golden files', () => {
  it.each(cases)('%s exports as recorded', (name) => {
    const { spec, ctx } = load(name);
    const xml = exportDomainXml(spec, ctx);
    const golden = join(dir, `${name}.xml`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, xml);
    expect(xml).toBe(readFileSync(golden, 'utf8'));
  });
});

describe('import(export(spec)) gives the spec back with no warnings', () => {
  it.each(allSpecs)('%s', (_name, spec) => {
    for (const accel of ['kvm', 'tcg'] as const) {
      expect(reimport(exportDomainXml(spec, exportContext(accel)))).toEqual({ spec, warnings: [] });
    }
  });

  it('keeps a command line full of XML metacharacters', () => {
    const spec = VmSpec.parse({
      ...load('kernel-boot-tcg').spec,
      boot: { kind: 'kernel', kernel: "/opt/a'b&c/vmlinuz", cmdline: `x="<y>" z='&amp;' ]]> --` },
    });
    expect(reimport(exportDomainXml(spec, exportContext('tcg'))).spec).toEqual(spec);
  });
});

describe('exportDomainXml', () => {
  it('writes QEMU\'s "host" CPU as libvirt\'s host-passthrough mode, not as a model name', () => {
    const spec = VmSpec.parse({ ...load('kernel-boot-tcg').spec, cpuModel: 'host' });
    const xml = exportDomainXml(spec, exportContext('kvm'));
    expect(xml).toContain("<cpu mode='host-passthrough' check='none'/>");
  });

  it('asks the caller which paths are block devices when it can tell', () => {
    const { spec } = load('kernel-boot-tcg');
    const xml = exportDomainXml(spec, { ...exportContext('tcg'), diskIsBlockDevice: () => false });
    expect(xml).toContain("<source file='/dev/vg0/lv001'/>");
  });
});

const skipReason = libvirtToolsMissing();
describe.skipIf(skipReason !== undefined)(
  `libvirt accepts the export${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it.each(allSpecs)('%s passes virt-xml-validate and virsh define', (_name, spec) => {
      for (const accel of ['kvm', 'tcg'] as const) {
        const xml = exportDomainXml(spec, exportContext(accel));
        const schema = validateAgainstSchema(xml);
        expect(schema.output).toContain('validates');
        expect(schema.ok).toBe(true);
        // libvirt's own dump of what it defined adds defaults (a video card for VNC) but must keep the VM.
        expect(reimport(defineAndDump(xml, spec.name)).spec).toEqual(spec);
      }
    });
  },
);
