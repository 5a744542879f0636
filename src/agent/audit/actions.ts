// The audit actions: every route that is not a GET names one in its config
// (`config: { audit: 'vm.define' }`), and buildApp refuses to register a route that does
// not, so a new route cannot forget the audit log. `<object>.<verb>`, virsh's verbs where
// it has one.
import type { FastifyRequest } from 'fastify';

export const AUDIT_ACTIONS = [
  'vm.define',
  'vm.undefine',
  'vm.import-xml',
  'vm.start',
  'vm.shutdown',
  'vm.destroy',
  'vm.suspend',
  'vm.resume',
  'vm.reboot',
  'vm.save',
  'vm.restore',
  'vm.console',
  'vm.set-priority',
  'pool.define',
  'pool.undefine',
  'pool.probe',
  'volume.create',
  'volume.delete',
  'volume.copy',
  'migration.start',
  'migration.dry-run',
  'migration.abort',
  'migration.resume',
  'migration.resolve',
  'migration.postcopy',
  'migration.setspeed',
  'migration.setmaxdowntime',
  'migration.prepare',
  'migration.link-probe',
  'migration.finish',
  'migration.commit',
  'migration.pause',
  'migration.end',
  'host.drain',
  'host.drain-cancel',
  'host.undrain',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the audit log calls a request of this route; required on every route but GET. */
    audit?: AuditAction;
  }
}

export const isAuditAction = (a: unknown): a is AuditAction =>
  typeof a === 'string' && (AUDIT_ACTIONS as readonly string[]).includes(a);

/** Methods that read: no audit entry, and a read-only token may use them. */
export const isReadMethod = (method: string) => method === 'GET' || method === 'HEAD';

/** The action of one request: a dry run asks for a pre-flight only and says so. */
export function actionOf(route: AuditAction, req: FastifyRequest): AuditAction {
  const body = req.body as { dryRun?: unknown } | undefined;
  if (route === 'migration.start' && body?.dryRun === true) return 'migration.dry-run';
  return route;
}

/** Thrown at start-up for a route that changes things but names no audit action. */
export function assertAudited(route: { method: string | string[]; url: string; config?: unknown }): void {
  const methods = [route.method].flat();
  if (methods.every(isReadMethod)) return;
  const action = (route.config as { audit?: unknown } | undefined)?.audit;
  if (!isAuditAction(action)) {
    throw new Error(
      `route ${methods.join(',')} ${route.url} has no audit action (config.audit = ${JSON.stringify(action)}): add config: { audit: '<one of AUDIT_ACTIONS in src/agent/audit/actions.ts>' }`,
    );
  }
}
