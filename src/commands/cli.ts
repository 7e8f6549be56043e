// `k0s-etcdmember-exporter check` and `... prune`: the exporter's sources, read once, through the exporter's
// analysis. Exit codes: 0 consistent (prune: done), 1 findings (prune: an object changed and was left alone),
// 2 bad usage, 3 a source could not be read (prune deletes nothing then).
import { hostname } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { analyse } from '../analysis.js';
import { ExitRequest, UsageError, parseConfig, parseDuration, type Config } from '../config.js';
import { readHostFacts, readInterfaces } from '../hostfacts.js';
import { k0sVersionFromGitVersion } from '../k0s/versions.js';
import { readServerVersion } from '../sources/kubernetes.js';
import { k0sConfigErrorReason, readK0sConfigFile, type K0sConfigSnapshot } from '../sources/k0s-config.js';
import { loadKubeConfig } from '../kubeconfig.js';
import { buildStatusDocument, runbookUrl, type StatusDocument } from '../status-document.js';
import { deleteObject, listObjectsOnce, readEtcdLinearizable, readEtcdOnce, Unreadable } from './io.js';
import { planPrune } from './prune-plan.js';

export const SUBCOMMANDS = ['check', 'prune'] as const;

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly now: () => Date;
}

const PROGRAM = 'k0s-etcdmember-exporter';
const SOURCE_FLAGS_HELP = `
Sources: the exporter's own flags and K0S_ETCDMEMBER_EXPORTER_* variables (see ${PROGRAM} --help):
  --etcd.endpoints, --etcd.ca-file, --etcd.cert-file, --etcd.key-file, --etcd.timeout,
  --kubeconfig, --kubernetes.timeout, --node.member-name, --k0s.config-file, --k0s.version;
  --web.external-url and --web.listen-address make the runbook links (default http://<hostname>:9979/runbook)`;

/** Runs `check` or `prune` (argv[0]); resolves with the exit code. */
export async function runSubcommand(argv: readonly string[], version: string, io: Io): Promise<number> {
  const [name, ...rest] = argv;
  // The subcommand's own options are parsed here; everything else goes to the exporter's parser, so the source
  // flags, their variables, defaults and validation are exactly the exporter's.
  const cmd = new Command(`${PROGRAM} ${name ?? ''}`)
    .helpOption('-h, --help', 'show this help and exit')
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => undefined })
    .addHelpText('after', SOURCE_FLAGS_HELP);
  if (name === 'check') {
    cmd
      .description('read etcd and the EtcdMember objects once, print them joined by member ID and every finding with its safe next step')
      .addOption(new Option('-o, --output <format>', 'table or json (the status document)').choices(['table', 'json']).default('table'));
  } else if (name === 'prune') {
    cmd
      .description('delete the EtcdMember objects proven stale (dry run unless --yes); never touches etcd or spec.leave')
      .addOption(new Option('--yes', 'delete; without it prune only prints what it would delete'))
      .addOption(new Option('--min-age <duration>', 'an orphaned object must be at least this old').default(3_600_000, '1h').argParser(parseDuration));
  } else {
    io.err(`${PROGRAM}: unknown command ${JSON.stringify(name)}; want one of ${SUBCOMMANDS.join(', ')}\n`);
    return 2;
  }
  let cfg: Config;
  let kubeLoaded: ReturnType<typeof loadKubeConfig> | undefined;
  let own: Record<string, unknown>;
  let k0s: K0sConfigSnapshot | undefined;
  let k0sError: { reason: string; message: string } | undefined;
  try {
    cmd.parse([...rest], { from: 'user' });
    own = cmd.opts<Record<string, unknown>>();
    // As for the exporter, every problem with the flags and the files they name is reported at once.
    cfg = parseConfig(cmd.args, version, io.out, (c, unreadable) => {
      const problems: string[] = [];
      // A file named with --k0s.config-file must be usable; the default one only makes the local prediction
      // unknown, shown as the k0s_config source down.
      try {
        k0s = readK0sConfigFile(c.k0sConfigFile, !c.k0sConfigFileGiven);
      } catch (err) {
        if (c.k0sConfigFileGiven) problems.push(`--k0s.config-file: ${(err as Error).message}`);
        else k0sError = { reason: k0sConfigErrorReason(err), message: (err as Error).message };
      }
      if (!unreadable.has('--kubeconfig')) {
        try {
          kubeLoaded = loadKubeConfig(c.kubeconfig);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
      return problems;
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || err instanceof ExitRequest) return 0;
    const message = err instanceof UsageError || err instanceof InvalidArgumentError ? err.message : (e.message ?? String(err));
    io.err(`${PROGRAM} ${name}: ${message.replace(/^error: /, '').replace(/\s+/g, ' ').trim()}\n`);
    return 2;
  }
  // parseConfig returned, so the kubeconfig loaded (a failure is one of the problems it throws with).
  const kube = kubeLoaded;
  if (kube === undefined) return 2;
  const etcdOptions = { endpoints: cfg.etcdEndpoints, caFile: cfg.etcdCaFile, certFile: cfg.etcdCertFile, keyFile: cfg.etcdKeyFile, timeoutMs: cfg.etcdTimeoutMs };
  for (const note of k0s?.config.notes ?? []) io.err(`${PROGRAM} ${name}: warning: ${k0s?.file ?? cfg.k0sConfigFile}: ${note}\n`);
  const interfaces = k0s === undefined ? undefined : await readInterfaces();

  // The k0s version, read beside the sources with the same deadline; unreadable, it is unknown (advice for any version).
  const serverVersion =
    cfg.k0sVersion === undefined
      ? readServerVersion({ kubeConfig: kube.kubeConfig, requestTimeoutMs: cfg.kubernetesTimeoutMs }, new AbortController().signal).catch(() => undefined)
      : Promise.resolve(undefined);
  const [etcdRead, kubeRead] = await readSources(
    name,
    () => (name === 'prune' ? readEtcdLinearizable(etcdOptions) : readEtcdOnce(etcdOptions)),
    () => listObjectsOnce(kube.kubeConfig, cfg.kubernetesTimeoutMs),
  );
  const failures = [etcdRead, kubeRead].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason instanceof Unreadable ? r.reason.line : String(r.reason)));
  if (etcdRead.status === 'rejected' || kubeRead.status === 'rejected') {
    io.err(`${PROGRAM} ${name}: ${failures.join('; ')}${name === 'prune' ? '; deleted nothing' : ''}\n`);
    return 3;
  }
  const etcd = etcdRead.value;
  const kubernetes = kubeRead.value;
  const gitVersion = await serverVersion;
  const k0sVersion = cfg.k0sVersion ?? (gitVersion === undefined ? undefined : k0sVersionFromGitVersion(gitVersion));
  // The default peer address k0s picks depends on its version (src/k0s/peer-address.ts), as the analysis does.
  const host = readHostFacts(cfg.nodeMemberName, k0s?.config, interfaces, k0sVersion?.gitVersion);
  const report = analyse(etcd, kubernetes, host, k0sVersion);
  const now = io.now();

  if (name === 'check') {
    const doc = buildStatusDocument({
      report,
      etcd,
      kubernetes,
      now,
      // Without --web.external-url, the exporter on this host as Prometheus would name it: http://<hostname>:<port>/.
      runbook: runbookUrl(cfg.webExternalUrl ?? `http://${hostname()}:${cfg.listenPort}/`),
      sources: [
        { name: 'etcd', attempted: true, up: true, lastSuccessMs: now.getTime() },
        { name: 'kubernetes', attempted: true, up: true, lastSuccessMs: now.getTime() },
        k0sError === undefined
          ? { name: 'k0s_config', attempted: true, up: true, lastSuccessMs: now.getTime() }
          : { name: 'k0s_config', attempted: true, up: false, lastSuccessMs: undefined, lastError: k0sError },
      ],
    });
    io.out(own['output'] === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : renderCheck(doc, kubernetes.crdPresent));
    return doc.consistent ? 0 : 1;
  }

  const plan = planPrune(report, etcd, kubernetes, now, own['minAge'] as number);
  const yes = own['yes'] === true;
  for (const k of plan.kept) io.out(`keeping etcdmember ${k.name} (${k.problem}): ${k.why}\n`);
  if (plan.deletions.length === 0) {
    io.out('nothing to prune: no object is proven stale\n');
    return 0;
  }
  if (!yes) {
    for (const d of plan.deletions) io.out(`would delete etcdmember ${d.object.name} (${d.problem}): ${d.why}\n`);
    io.out(`dry run: deleted nothing; run again with --yes to delete ${plan.deletions.length === 1 ? 'it' : `these ${plan.deletions.length}`}\n`);
    return 0;
  }
  let changed = 0;
  for (const d of plan.deletions) {
    let outcome;
    try {
      outcome = await deleteObject(kube.kubeConfig, cfg.kubernetesTimeoutMs, d.object.name, { uid: d.object.uid, resourceVersion: d.object.resourceVersion });
    } catch (err) {
      io.err(`${PROGRAM} prune: ${err instanceof Unreadable ? err.line : String(err)}; stopped, the rest is not deleted\n`);
      return 3;
    }
    if (outcome.kind === 'deleted') io.out(`deleted etcdmember ${d.object.name} (${d.problem}): ${d.why}\n`);
    else if (outcome.kind === 'gone') io.out(`etcdmember ${d.object.name} is already gone: ${outcome.message}\n`);
    else {
      changed++;
      io.out(`left etcdmember ${d.object.name} alone: it changed since it was judged (${outcome.message}); run prune again to judge it anew\n`);
    }
  }
  return changed > 0 ? 1 : 0;
}

/**
 * Reads both sources, each with its own deadline; prune's etcd read is confirmed linearizable. check reads them
 * at once. prune lists the objects first and starts the etcd read only then: an object is "orphaned" when etcd
 * does not list its member ID, which is only sound when etcd's list is at least as new as the object. Read the
 * other way round, a rejoin that writes a new ID into an old object between the reads makes it look orphaned,
 * and its resourceVersion still matches what was judged, so the conditional delete removes it. In this order a
 * change after the list bumps the resourceVersion and the delete's precondition refuses it. etcd is still read
 * when the list failed, so that both failures are reported.
 */
export async function readSources<E, K>(
  command: 'check' | 'prune',
  readEtcd: () => Promise<E>,
  listObjects: () => Promise<K>,
): Promise<[PromiseSettledResult<E>, PromiseSettledResult<K>]> {
  if (command === 'check') return Promise.allSettled([readEtcd(), listObjects()]);
  const [kube] = await Promise.allSettled([listObjects()]);
  const [etcd] = await Promise.allSettled([readEtcd()]);
  return [etcd, kube];
}

/** The check table in kubectl's style (tabwriter: min width 10, padding 3), then one line per finding. */
export function renderCheck(doc: StatusDocument, crdPresent: boolean): string {
  const rows = [
    ['MEMBER ID', 'ETCD NAME', 'PEER', 'OBJECTS', 'FINDINGS'],
    ...doc.rows.map((r) => [
      r.memberId === '' ? '<none>' : r.memberId,
      r.member === null ? '<none>' : r.member.name === '' ? '<unstarted>' : r.member.name,
      r.member?.peerAddress || '<none>',
      r.objects.map((o) => o.name).join(',') || '<none>',
      r.findings.join(',') || '<none>',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(10, ...rows.map((r) => r[i]!.length + 3)));
  let text = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('')).join('\n') + '\n';
  if (!crdPresent) text += '\nthe EtcdMember CRD is not installed: there are no objects to compare\n';
  text += `\nk0s: ${doc.k0sVersion ?? 'version unknown (advice holds for every k0s version)'}\n`;
  if (doc.local) {
    const peer =
      doc.local.predictedPeerAddress === undefined
        ? doc.local.peerAddressUnknownWhy === undefined
          ? ''
          : `; the peer address k0s would use cannot be told: ${doc.local.peerAddressUnknownWhy}`
        : ` with peer address ${doc.local.predictedPeerAddress}${doc.local.peerAddressOnHost === false ? ' (not on this host: etcd cannot start)' : ''}`;
    // null: without k0s.yaml the name k0s registers cannot be told, so check does not guess it.
    const registers = doc.local.nameDrift === null ? 'the name k0s would register is unknown (k0s.yaml not read)' : `k0s would register ${JSON.stringify(doc.local.registrationName)}`;
    text += `\nthis host: etcd member ${JSON.stringify(doc.local.memberName)} (${doc.local.memberId}), ${registers}${peer}\n`;
  }
  const down = doc.sources.filter((s) => s.up !== true);
  if (down.length > 0) text += '\n';
  for (const s of down) text += s.up === null ? `source ${s.name} not read\n` : `source ${s.name} down (${s.reason ?? 'unknown'}): ${s.error ?? 'no error recorded'}\n`;
  if (doc.findings.length === 0) return `${text}\n${doc.consistent ? 'consistent: no findings' : 'incomplete: a source is down'}\n`;
  text += '\n';
  for (const f of doc.findings) text += `${f.problem} ${f.name || f.memberId}: ${f.message}${f.command ? `; next: ${f.command}` : ''}\n`;
  return text;
}
