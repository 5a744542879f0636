#!/usr/bin/env node
// vmhop-agent: the per-host daemon. Loads its config, opens the registry, reattaches to
// QEMUs that outlived a previous agent, and serves the API. On SIGTERM it stops serving
// and lets go of its QEMUs without stopping them: VMs outlive the agent.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import pino from 'pino';
import { reportError } from '../terminal/emit.js';
import { loadConfig } from './config.js';
import { buildApp } from './http/app.js';
import { hashToken } from '../credentials/token-hash.js';
import { AgentServices } from './services.js';
import { drainRunnerOf } from './fleet/drain-runner.js';
import { startJobRetention } from './job-retention.js';
import { watchCertificate } from './tls/certificate-status.js';
import { tokenCommand } from './token-command.js';
import { packageVersion } from '../repo/package-version.js';

const program = new Command('vmhop-agent')
  .description('the vmhop host agent')
  .version(packageVersion(), '-V, --version', 'print the vmhop-agent version');

program
  .command('run', { isDefault: true })
  .description('serve the API (the default)')
  .option('--config <file>', 'JSON config file')
  .option('--name <name>', 'host name')
  .option('--listen <addr:port>', 'API address, e.g. 10.99.0.11:8443')
  .option('--data-dir <dir>', 'registry, pools, saved states')
  .option('--run-dir <dir>', 'QMP sockets, pidfiles, serial logs')
  .option('--migration-address <addr>', 'address for incoming migrations and NBD exports')
  .option('--insecure', 'plain HTTP without tokens, loopback only')
  .action(async (flags: Record<string, string | boolean | undefined>) => {
    try {
      const config = loadConfig(flags.config as string | undefined, {
        name: flags.name,
        listen: flags.listen,
        dataDir: flags.dataDir,
        runDir: flags.runDir,
        migrationAddress: flags.migrationAddress,
        insecure: flags.insecure,
      });
      const log = pino({ level: config.logLevel, base: { host: config.name } });
      const services = new AgentServices(config, log);
      if (config.tls) watchCertificate(config.tls.cert, config.name, log);
      // Probed now, not at the first `host info` or pre-flight, which would otherwise wait for it.
      services
        .qemu()
        .then((q) =>
          log.info({ qemu: q.qemuVersion, package: q.qemuPackage, features: q.features }, 'QEMU probed'),
        )
        .catch((err: unknown) => log.error({ err }, 'QEMU probe failed; retried on the next request'));
      // Cluster mode: joined in the background; the agent waits a little so that its first
      // requests find the cluster, and comes up anyway when etcd is away (it joins later).
      if (services.cluster) {
        services.cluster.start();
        if (!(await services.cluster.joined(6_000)))
          log.warn('serving before joining the cluster in etcd: nothing new is taken until it joins');
      }
      await services.ensureDefaultPool();
      await services.supervisor.reattachAll();
      await services.engine.recover();
      // A drain left running goes on once its moves' jobs are finished or rolled back.
      drainRunnerOf(services).resumeAll();
      // Interrupted offline copies not resumed in time expire (checked now and hourly).
      const ttlMs = config.interruptedTtlHours * 3_600_000;
      const expire = () =>
        services.engine.target.offline
          .expireInterrupted(ttlMs)
          .then((ids) => ids.length && log.info({ jobs: ids }, 'expired interrupted copies'))
          .catch((err: unknown) => log.error({ err }, 'expiry of interrupted copies failed'));
      void expire();
      setInterval(() => void expire(), 3_600_000).unref();
      startJobRetention({ jobs: services.jobStore, retentionDays: config.jobRetentionDays, log });
      const https = config.tls
        ? {
            key: readFileSync(config.tls.key),
            cert: readFileSync(config.tls.cert),
            ca: readFileSync(config.tls.ca),
          }
        : undefined;
      const app = await buildApp({
        services,
        auth: {
          tokenHashes: config.tokenHashes,
          disabled: config.insecure,
          peerCertificatesAsClients: config.peerCertificatesAsClients,
        },
        logger: log,
        ...(https ? { https } : {}),
      });
      const [host, port] = [
        config.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
        Number(config.listen.split(':').pop()),
      ];
      await app.listen({ host, port });
      log.info({ listen: config.listen, pid: process.pid }, 'vmhop-agent ready');
      const stop = async () => {
        log.info('stopping; VMs keep running');
        await app.close();
        await services.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
    } catch (e) {
      process.exitCode = reportError(e, false);
    }
  });

program
  .command('hash-token <token>')
  .description('print the SHA-256 hash to put in tokenHashes (unnamed admin tokens; `token add` names them)')
  .action((token: string) => console.log(hashToken(token)));

program.addCommand(tokenCommand());

await program.parseAsync(process.argv);
