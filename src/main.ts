#!/usr/bin/env node
// Wiring only, in one direction: configuration in, sources → exporter → metrics → server, clean exit on SIGTERM.
import { verify as verifyPassword } from '@node-rs/bcrypt';
import { analyse } from './analysis.js';
import { SUBCOMMANDS, runSubcommand } from './commands/cli.js';
import { ExitRequest, UsageError, parseConfig, type Config } from './config.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { LeaderElector } from './events/lease.js';
import { EventRecorder } from './events/recorder.js';
import { EventsStatus } from './events/status.js';
import { Exporter } from './exporter.js';
import { loadKubeConfig } from './kubeconfig.js';
import { readHostFacts } from './hostfacts.js';
import { createLogger } from './log.js';
import { createMetrics } from './metrics.js';
import { createApp, metricsFirst } from './server.js';
import { buildStatusDocument, runbookUrl } from './status-document.js';
import { EtcdSource } from './sources/etcd.js';
import { K0sConfigSource, readK0sConfigFile } from './sources/k0s-config.js';
import { GROUP, KubernetesSource, VERSION } from './sources/kubernetes.js';
import { k0sVersionFromGitVersion, type K0sVersion } from './k0s/versions.js';
import { buildRevision, packageVersion } from './version.js';
import { dropWarnings } from './warnings.js';
import { WebConfigError, webConfigErrorWhere } from './web/config.js';
import { LiveWebConfig } from './web/live.js';
import { RUNBOOK_PATH, loadRunbook, type RunbookPage } from './web/runbook.js';
import { serveAll, type ListenError, type ListenTarget, type Servers } from './web/serve.js';
import { systemdListenFds } from './web/systemd.js';

// htpasswd -nbBC 4 '' startup-check: cheap, for the check at start that passwords can be checked at all.
const STARTUP_CHECK_HASH = '$2y$04$ya5hluZzSYPxmmhTfYy/M.XLeoiEgj2cKA6OV4o58IB4tWRGMJ2lS';

// Well inside the 10 s both shipped deployments allow between SIGTERM and SIGKILL (terminationGracePeriodSeconds,
// TimeoutStopSec), so the exporter always exits on its own and says so.
const SHUTDOWN_GRACE_MS = 4000;

// DEP0123 (grpc-js gives TLS etcd's IP as the server name) would be a stray unstructured line on stderr.
dropWarnings(['DEP0123']);

async function main(argv: readonly string[]): Promise<void> {
  const version = packageVersion();
  let cfg: Config;
  let kube: ReturnType<typeof loadKubeConfig> | undefined;
  let web: LiveWebConfig | undefined;
  let systemdFds: number[] = [];
  try {
    // Everything a start needs is checked before anything runs, and every problem is named at once: a host that
    // is not set up learns all that is missing at the first try.
    cfg = parseConfig(argv, version, undefined, (c, unreadable) => {
      const problems: string[] = [];
      const check = (flag: string, fn: () => void): void => {
        if (unreadable.has(flag)) return;
        try {
          fn();
        } catch (err) {
          problems.push(err instanceof WebConfigError ? `--web.config.file ${webConfigErrorWhere(c.webConfigFile!, err)}` : (err as Error).message);
        }
      };
      // A config file named on the command line must be usable now: a mistake there is a usage error, not a
      // source that is down. The default path only warns, later, through the source.
      if (c.k0sConfigFileGiven) check('--k0s.config-file', () => readK0sConfigFileOrThrow(c.k0sConfigFile));
      check('--kubeconfig', () => (kube = loadKubeConfig(c.kubeconfig)));
      if (c.webConfigFile !== undefined) check('--web.config.file', () => (web = LiveWebConfig.start(c.webConfigFile!, createLogger(c.logLevel, c.logFormat))));
      if (c.systemdSocket) {
        const passed = systemdListenFds();
        if ('problem' in passed) problems.push(passed.problem);
        else systemdFds = passed.fds;
      }
      return problems;
    });
  } catch (err) {
    if (err instanceof ExitRequest) process.exit(err.exitCode);
    process.stderr.write(`k0s-etcdmember-exporter: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (kube === undefined) throw new Error('unreachable: the kubeconfig was checked');
  const logger = createLogger(cfg.logLevel, cfg.logFormat);
  // The single executable loads the bcrypt library it carries from a file it writes under $TMPDIR, at the first
  // password check (src/web/bcrypt-bundled.ts): find out now whether that works, not at the first scrape.
  if (web !== undefined && web.current().config.users.size > 0) {
    const works = await verifyPassword('startup-check', STARTUP_CHECK_HASH).catch((err: Error) => err);
    if (works !== true) {
      process.stderr.write(`k0s-etcdmember-exporter: cannot check passwords: ${works instanceof Error ? works.message : 'bcrypt refused a known-good hash'}\n`);
      process.exit(1);
    }
  }
  logger.info('starting k0s-etcdmember-exporter', {
    version,
    etcd_endpoints: cfg.etcdEndpoints.join(','),
    kubeconfig: kube.from,
    api_server: kube.kubeConfig.getCurrentCluster()?.server,
    k0s_config_file: cfg.k0sConfigFile,
    k0s_version: cfg.k0sVersion?.gitVersion ?? 'from the API server',
    interval_seconds: cfg.intervalMs / 1000,
  });

  const etcd = new EtcdSource({
    endpoints: cfg.etcdEndpoints,
    caFile: cfg.etcdCaFile,
    certFile: cfg.etcdCertFile,
    keyFile: cfg.etcdKeyFile,
    timeoutMs: cfg.etcdTimeoutMs,
    intervalMs: cfg.intervalMs,
    logger,
  });
  // Jittered so many exporters do not reconnect in step; short, so a watch that died silently is noticed
  // within watchTimeoutSeconds + 30 s at most (keepalive usually notices much sooner).
  const watchTimeoutSeconds = 60 + Math.floor(Math.random() * 60);
  const kubernetes = new KubernetesSource({
    kubeConfig: kube.kubeConfig,
    requestTimeoutMs: cfg.kubernetesTimeoutMs,
    crdRecheckMs: cfg.intervalMs,
    watchTimeoutSeconds,
    watchSilenceMs: (watchTimeoutSeconds + 30) * 1000,
    shortWatchMs: 1000,
    minBackoffMs: 500,
    maxBackoffMs: Math.min(30_000, Math.max(1000, cfg.intervalMs)),
    logger,
  });
  // The k0s version: --k0s.version, else the API server's, read again at every watch restart (a rolling upgrade
  // changes it); unknown (a plain kube-apiserver, or /version unreadable) means judging as for any version. The
  // k0s config's keys and the default peer address k0s picks depend on it as much as the analysis does.
  const k0sVersion = (): K0sVersion | undefined => {
    const serverVersion = kubernetes.serverVersion();
    return cfg.k0sVersion ?? (serverVersion === undefined ? undefined : k0sVersionFromGitVersion(serverVersion));
  };
  const k0sConfig = new K0sConfigSource({ path: cfg.k0sConfigFile, optional: !cfg.k0sConfigFileGiven, intervalMs: cfg.intervalMs, logger, k0sVersion: () => k0sVersion()?.gitVersion });
  const exporter = new Exporter({
    sources: { etcd, kubernetes, k0sConfig },
    // The host is asked at every analysis: a hostname or address changed while the exporter runs must show as
    // local drift (the k0s config is re-read by its source every interval).
    analyse: (s) => {
      const version = k0sVersion();
      return analyse(s.etcd, s.kubernetes, readHostFacts(cfg.nodeMemberName, s.k0sConfig?.config, s.k0sConfig?.interfaces, version?.gitVersion), version);
    },
    onSourceChange: (source) => {
      // An object change often comes with an etcd change (a controller joining or leaving): read etcd again
      // now (at most once a second) instead of comparing the new objects with an etcd view up to an interval old.
      if (source === 'kubernetes') etcd.refreshSoon();
    },
    logger,
  });
  const runbook = runbookUrl(cfg.webExternalUrl);
  let runbookPage: RunbookPage | Error;
  try {
    runbookPage = loadRunbook(version);
  } catch (err) {
    // The exporter's job is /metrics: a packaging mistake must not stop it, but it is said at once.
    runbookPage = err as Error;
    logger.error('runbook not served', { path: RUNBOOK_PATH, err: runbookPage.message });
  }
  const statusDocument = (): ReturnType<typeof buildStatusDocument> =>
    // The report first: reading it re-analyses a changed view, and the snapshots read next are the ones it used.
    buildStatusDocument({
      report: exporter.report(),
      etcd: etcd.snapshot(),
      kubernetes: kubernetes.snapshot(),
      sources: exporter.sources.map((s) => ({ name: s.name, ...s.health() })),
      now: new Date(),
      runbook,
    });

  // Events: one exporter per cluster writes them, the one holding the Lease; the others only stand by.
  let elector: LeaderElector | undefined;
  let recorder: EventRecorder | undefined;
  let eventsStatus: EventsStatus | undefined;
  if (cfg.events.enabled) {
    const instance = cfg.nodeMemberName ?? hostname();
    const status = new EventsStatus(() => elector?.leading() ?? false);
    const kubeRequestMs = cfg.kubernetesTimeoutMs;
    recorder = new EventRecorder({
      kubeConfig: kube.kubeConfig,
      namespace: cfg.events.namespace,
      reportingController: 'k0s-etcdmember-exporter',
      // The Event's reportingInstance is at most 128 characters.
      reportingInstance: instance.slice(0, 128),
      action: 'CheckMembership',
      regardingApiVersion: `${GROUP}/${VERSION}`,
      regardingKind: 'EtcdMember',
      intervalMs: cfg.intervalMs,
      refreshMs: cfg.events.seriesRefreshMs,
      requestTimeoutMs: kubeRequestMs,
      leading: () => elector?.leading() ?? false,
      // Judged only while etcd and the API both answer: with either down a finding is unknown, not cleared.
      input: () => {
        const k = kubernetes.snapshot();
        if (etcd.snapshot() === undefined || k === undefined || !k.crdPresent) return undefined;
        return { doc: statusDocument(), objects: k.objects };
      },
      logger,
      onError: (e) => status.error(e.reason),
      onWrite: (verb) => status.wrote(verb),
    });
    const events = recorder;
    elector = new LeaderElector({
      kubeConfig: kube.kubeConfig,
      namespace: cfg.events.namespace,
      name: cfg.events.leaseName,
      identity: `${instance}_${randomUUID()}`,
      leaseDurationMs: cfg.events.leaseDurationMs,
      renewDeadlineMs: cfg.events.renewDeadlineMs,
      retryPeriodMs: cfg.events.retryPeriodMs,
      requestTimeoutMs: kubeRequestMs,
      logger,
      onError: (e) => status.error(e.reason),
      onLeadingChange: (leading) => events.leadingChanged(leading),
    });
    eventsStatus = status;
  }
  const exposition = createMetrics({ report: () => exporter.report(), sources: exporter.sources, ...(eventsStatus === undefined ? {} : { events: eventsStatus }) }, { version, revision: buildRevision(), nodejsVersion: process.version });

  const app = createApp({
    exposition,
    telemetryPath: cfg.telemetryPath,
    ready: () => exporter.ready(),
    version,
    runbook: runbookPage,
    status: statusDocument,
  });
  let server: Servers;
  // Every --web.listen-address, or the sockets systemd passed, each with the same web config.
  const targets: ListenTarget[] = cfg.systemdSocket ? systemdFds.map((fd) => ({ fd })) : [...cfg.listenAddresses];
  try {
    server = await serveAll(metricsFirst(app, { exposition, telemetryPath: cfg.telemetryPath, logger }), { targets, web, logger, fields: { telemetry_path: cfg.telemetryPath } });
  } catch (err) {
    // Port taken, or an address this host does not have: one line naming it, and the process exits (the others
    // were closed), as exporter-toolkit does.
    const e = err as ListenError;
    logger.error('cannot listen', { address: e.target, err: e.cause.message });
    process.exit(1);
  }
  exporter.start();
  elector?.start();
  recorder?.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Sources cancel what they have in flight, so stop() normally ends at once; this is the backstop should
    // anything hang, so the process still exits before the supervisor's SIGKILL.
    setTimeout(() => {
      logger.warn('shutdown took too long, exiting', { grace_seconds: SHUTDOWN_GRACE_MS / 1000 });
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
    server.close();
    server.closeAllConnections();
    // The recorder stops writing before the Lease is released, so no Event is written without it.
    void Promise.all([exporter.stop(), (async () => {
      await recorder?.stop();
      await elector?.stop();
    })()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function readK0sConfigFileOrThrow(path: string): void {
  try {
    readK0sConfigFile(path, false);
  } catch (err) {
    throw new UsageError(`--k0s.config-file: ${(err as Error).message}`);
  }
}

async function run(args: readonly string[]): Promise<void> {
  if ((SUBCOMMANDS as readonly string[]).includes(args[0] ?? '')) {
    const code = await runSubcommand(args, packageVersion(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), now: () => new Date() });
    // gRPC may keep handles open a moment after the clients closed; the command is done.
    process.exit(code);
  } else {
    await main(args);
  }
}

// No top-level await: the same code is bundled to CommonJS for the single executable (scripts/bundle.ts). A
// rejection of run() is unhandled, so Node still ends the process with its stack and exit code 1.
void run(process.argv.slice(2));
