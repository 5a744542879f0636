// /v1/vms: define, list, inspect, undefine, and the lifecycle actions (virsh verbs). Save,
// restore and shutdown answer when they are done, as before; meanwhile their progress goes out
// on /v1/events as `vm.progress`, tagged with the body's `progressId` for the client that follows.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VmInfo } from '../../../protocol/vm.js';
import { ProgressId } from '../../../protocol/vm-progress.js';
import { VM_NAME } from '../../../protocol/vm-spec.js';
import type { AgentServices } from '../../services.js';
import { refuseInMaintenance } from '../../fleet/maintenance.js';
import { exportXml, importXml } from '../../vm/domain-xml.js';

const Name = z.object({ name: z.string().regex(VM_NAME, 'not a valid VM name') });
const Ok = z.object({ ok: z.literal(true) });
const Actions = ['start', 'shutdown', 'destroy', 'suspend', 'resume', 'reboot', 'save', 'restore'] as const;
// fastify validates an absent body as null, which .default() does not replace.
const ActionBody = z.preprocess(
  (b) => b ?? {},
  z.object({
    paused: z.boolean().optional(),
    force: z.boolean().optional(),
    timeoutMs: z.number().int().min(1_000).max(3_600_000).optional(),
    /** save, restore, shutdown: the client's id for the action's `vm.progress` events on /v1/events. */
    progressId: ProgressId.optional(),
  }),
);

export const vmRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.get('/v1/vms', { schema: { response: { 200: z.object({ vms: z.array(VmInfo) }) } } }, async () => ({
      vms: await s.vmInfoList(),
    }));

    app.post(
      '/v1/vms',
      {
        config: { audit: 'vm.define' },
        schema: { body: z.object({ spec: z.unknown() }), response: { 201: VmInfo } },
      },
      async (req, reply) => {
        const named = (req.body.spec as { name?: unknown } | null)?.name;
        refuseInMaintenance(
          s.db,
          s.config.name,
          `defining VM${typeof named === 'string' ? ` \`${named.slice(0, 64)}\`` : ''}`,
        );
        const info = await s.vms.define(req.body.spec);
        return reply.status(201).send(info);
      },
    );

    app.get(
      '/v1/vms/:name',
      { schema: { params: Name, response: { 200: VmInfo.extend({ savedState: z.boolean() }) } } },
      async (req) => ({
        ...(await s.vmInfo(req.params.name)),
        savedState: s.saveRestore.hasSavedState(req.params.name),
      }),
    );

    app.delete(
      '/v1/vms/:name',
      { config: { audit: 'vm.undefine' }, schema: { params: Name, response: { 200: Ok } } },
      async (req) => {
        s.vms.undefine(req.params.name);
        return { ok: true as const };
      },
    );

    for (const action of Actions) {
      app.post(
        `/v1/vms/:name/${action}`,
        {
          config: { audit: `vm.${action}` },
          schema: { params: Name, body: ActionBody, response: { 200: VmInfo.passthrough() } },
        },
        async (req) => {
          const { name } = req.params;
          const b = req.body ?? {};
          switch (action) {
            case 'start':
              return s.vms.start(name, { paused: b.paused === true, force: b.force === true });
            case 'shutdown':
              return s.vms.shutdown(name, b.timeoutMs, b.progressId);
            case 'destroy':
              return s.vms.destroy(name, { force: b.force === true });
            case 'suspend':
              return s.vms.suspend(name);
            case 'resume':
              return s.vms.resume(name);
            case 'reboot':
              return s.vms.reboot(name);
            case 'save':
              return s.saveRestore.save(name, b.progressId);
            case 'restore':
              return s.saveRestore.restore(name, b.progressId);
          }
        },
      );
    }

    app.post(
      '/v1/vms/:name/priority',
      {
        config: { audit: 'vm.set-priority' },
        schema: {
          params: Name,
          body: z.object({ priority: z.number().int().min(-100).max(100) }).strict(),
          response: { 200: VmInfo },
        },
      },
      async (req) => s.vms.setPriority(req.params.name, req.body.priority),
    );

    app.post(
      '/v1/vms/import-xml',
      {
        config: { audit: 'vm.import-xml' },
        schema: {
          body: z.object({
            xml: z
              .string()
              .min(1)
              .max(1 << 20),
          }),
          response: { 201: z.object({ vm: VmInfo, warnings: z.array(z.string()) }) },
        },
      },
      async (req, reply) => {
        refuseInMaintenance(s.db, s.config.name, 'importing a libvirt domain');
        return reply.status(201).send(
          await importXml(req.body.xml, {
            storage: s.storage,
            vms: s.vms,
            kvm: (await s.accel()) === 'kvm',
          }),
        );
      },
    );

    app.get('/v1/vms/:name/xml', { schema: { params: Name } }, async (req, reply) =>
      reply
        .type('application/xml')
        .send(await exportXml(req.params.name, { storage: s.storage, vms: s.vms, accel: await s.accel() })),
    );

    app.get(
      '/v1/vms/:name/console',
      {
        schema: {
          params: Name,
          querystring: z.object({
            bytes: z.coerce
              .number()
              .int()
              .min(1)
              .max(1 << 20)
              .default(65536),
            /** `current`: only the output of the QEMU started last (since it resumed here, after a migration). */
            run: z.enum(['all', 'current']).default('all'),
          }),
        },
      },
      async (req, reply) =>
        reply
          .type('text/plain; charset=utf-8')
          .send(await s.vms.consoleLog(req.params.name, req.query.bytes, req.query.run)),
    );
  };
