#!/usr/bin/env node
// Wiring only: configuration in, sources and server up, clean exit on SIGTERM.
import { ExitRequest, parseConfig, type Config } from './config.js';
import { Exporter } from './exporter.js';
import { loadKubeConfig } from './kubeconfig.js';
import { readHostFacts } from './hostfacts.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { createApp } from './server.js';
import { EtcdSource } from './sources/etcd.js';
import { KubernetesSource } from './sources/kubernetes.js';
import { buildRevision, packageVersion } from './version.js';
import { WebConfigError } from './web/config.js';
import { LiveWebConfig } from './web/live.js';
import { serve } from './web/serve.js';

const SHUTDOWN_GRACE_MS = 4000;

// grpc-js hands etcd's IP address to TLS as the server name, which makes Node print a DEP0123 warning to
// stderr on the first connection: a stray unstructured line in a log that promises one structured line per event.
process.noDeprecation = true;

async function main(argv: readonly string[]): Promise<void> {
  const version = packageVersion();
  let cfg: Config;
  let kube: ReturnType<typeof loadKubeConfig>;
  try {
    cfg = parseConfig(argv, version);
    kube = loadKubeConfig(cfg.kubeconfig);
  } catch (err) {
    if (err instanceof ExitRequest) process.exit(err.exitCode);
    process.stderr.write(`k0s-etcdmember-exporter: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(cfg.logLevel, cfg.logFormat);
  let web: LiveWebConfig | undefined;
  try {
    web = cfg.webConfigFile === undefined ? undefined : LiveWebConfig.start(cfg.webConfigFile, logger);
  } catch (err) {
    if (!(err instanceof WebConfigError)) throw err;
    process.stderr.write(`k0s-etcdmember-exporter: --web.config.file ${cfg.webConfigFile}: ${err.message}\n`);
    process.exit(2);
  }
  const host = (): ReturnType<typeof readHostFacts> => readHostFacts(cfg.nodeMemberName);
  logger.info('starting k0s-etcdmember-exporter', {
    version,
    etcd_endpoints: cfg.etcdEndpoints.join(','),
    kubeconfig: kube.from,
    api_server: kube.kubeConfig.getCurrentCluster()?.server,
    registration_name: host().registrationName,
    interval_seconds: cfg.intervalMs / 1000,
  });

  // The exporter and the metrics refer to each other (errors are counted, the report is rendered); this late
  // binding keeps both constructors simple.
  let exporter: Exporter | undefined;
  const metrics = createMetrics(
    { report: () => exporter!.report(), health: (s) => exporter!.health(s) },
    { version, revision: buildRevision(), nodejsVersion: process.version },
  );
  const kubernetes = new KubernetesSource({
    kubeConfig: kube.kubeConfig,
    requestTimeoutMs: cfg.kubernetesTimeoutMs,
    crdRecheckMs: cfg.intervalMs,
    // Jittered so many exporters do not reconnect in step; short, so a watch that died silently is noticed
    // within watchTimeoutSeconds + 30 s at most (keepalive usually notices much sooner).
    watchTimeoutSeconds: 60 + Math.floor(Math.random() * 60),
    maxBackoffMs: Math.min(30_000, Math.max(1000, cfg.intervalMs)),
    logger,
    onChange: () => exporter?.kubernetesChanged(),
    onError: (reason) => metrics.countError('kubernetes', reason),
  });
  exporter = new Exporter({
    etcd: new EtcdSource({
      endpoints: cfg.etcdEndpoints,
      caFile: cfg.etcdCaFile,
      certFile: cfg.etcdCertFile,
      keyFile: cfg.etcdKeyFile,
      timeoutMs: cfg.etcdTimeoutMs,
    }),
    kubernetes,
    host,
    intervalMs: cfg.intervalMs,
    logger,
    countError: (source, reason) => metrics.countError(source, reason),
  });

  const app = createApp({ registry: metrics.registry, telemetryPath: cfg.telemetryPath, ready: () => exporter.ready(), version });
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve(app, { host: cfg.listenHost, port: cfg.listenPort, web, logger, fields: { telemetry_path: cfg.telemetryPath } });
  } catch (err) {
    // Port taken, or an address this host does not have: one line, no false "listening" before it.
    logger.error('cannot listen', { address: `${cfg.listenHost ?? ''}:${cfg.listenPort}`, err: (err as Error).message });
    process.exit(1);
  }
  exporter.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Exit even if a source is stuck: SIGTERM must end the process within a few seconds.
    setTimeout(() => {
      logger.warn('shutdown took too long, exiting', { grace_seconds: SHUTDOWN_GRACE_MS / 1000 });
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
    server.close();
    server.closeAllConnections();
    void exporter.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

await main(process.argv.slice(2));
