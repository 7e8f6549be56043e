// Prints what the hot paths cost: the pure analysis for a large cluster view, and /metrics latency of a running
// exporter holding many EtcdMember objects. Numbers only, no pass/fail:
//   npm run build && node dist/scripts/bench.js [--objects 1000] [--scrapes 300]
import { parseArgs } from 'node:util';
import { analyse } from '../src/analysis.js';
import type { EtcdMember, EtcdMemberObject } from '../src/model.js';
import { ExporterProcess } from '../testbed/exporter-process.js';
import { KubeApiTestServer, etcdMemberObject } from '../testbed/kube-api-server.js';

const { values } = parseArgs({ options: { objects: { type: 'string', default: '1000' }, scrapes: { type: 'string', default: '300' } } });
const objectCount = Number(values.objects);
const scrapes = Number(values.scrapes);
if (!Number.isInteger(objectCount) || objectCount < 1 || !Number.isInteger(scrapes) || scrapes < 1) {
  process.stderr.write('bench: --objects and --scrapes take whole numbers greater than 0\n');
  process.exit(2);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// 1. Analysis: members and objects in the k0s#5369 shape (every tenth object a duplicate of the one before).
const members: EtcdMember[] = [];
const objects: EtcdMemberObject[] = [];
for (let i = 0; i < objectCount; i++) {
  const id = (0x1000 + i).toString(16);
  members.push({ id, name: `c${i}.example.org`, peerURLs: [`https://10.0.${i >> 8}.${i & 255}:2380`], clientURLs: [], isLearner: false });
  objects.push({ name: `c${i}.example.org`, memberId: id, invalidMemberId: undefined, peerAddress: `10.0.${i >> 8}.${i & 255}`, leave: false, reconcileStatus: undefined });
  if (i % 10 === 0) objects.push({ ...objects[objects.length - 1]!, name: `c${i}` });
}
const runs = 200;
const t0 = performance.now();
for (let i = 0; i < runs; i++) analyse({ members, localMemberId: members[0]!.id }, { crdPresent: true, objects }, { registrationName: 'c0.example.org' });
const analysisMs = (performance.now() - t0) / runs;
process.stdout.write(`analysis: ${members.length} members, ${objects.length} objects: ${analysisMs.toFixed(3)} ms per run (mean of ${runs})\n`);

// 2. /metrics of a real exporter process holding the objects (etcd unreachable: only the Kubernetes side here).
const api = await KubeApiTestServer.start();
let exporter: ExporterProcess | undefined;
try {
  for (const o of objects) {
    api.create(etcdMemberObject(o.name, { memberID: o.memberId!, peerAddress: o.peerAddress! }));
  }
  exporter = await ExporterProcess.start({ etcdEndpoints: ['http://127.0.0.1:1'], kubeconfig: api.kubeconfigPath, interval: '15s', extraArgs: ['--log.level=info'] });
  await exporter.waitFor('objects loaded', (s) => s.some((x) => x.name === 'k0s_etcdmember_members' && x.value === objects.length), 30_000);
  const bytes = (await exporter.metricsText()).length;
  const latencies: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    await exporter.metricsText(5000);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `/metrics with ${objects.length} objects (${bytes} bytes): ${scrapes} sequential scrapes, ` +
      `p50 ${percentile(latencies, 50).toFixed(2)} ms, p90 ${percentile(latencies, 90).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms, ` +
      `max ${latencies[latencies.length - 1]!.toFixed(2)} ms\n`,
  );
} finally {
  await exporter?.stop();
  await api.close();
}
