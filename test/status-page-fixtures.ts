// Status documents for the status page tests, in the shape `check -o json` and /status.json give.
import type { StatusDocument } from '../src/status-document.js';

// As the exporter links it without --web.external-url: relative to its root, where it serves the runbook.
const RUNBOOK = 'runbook';
export const IDS = { c1: '8e9e05c52164694d', c2: '91bc3c398fb3c146', c3: 'fd422379fda50e48' } as const;

/** k0s#5369 as the exporter sees it: the stale `c1` carries c1.example.org's member ID. */
export function k0s5369Document(): StatusDocument {
  return {
    kind: 'K0sEtcdMemberStatus',
    version: 1,
    generatedAt: '2026-11-27T08:40:03.120Z',
    consistent: false,
    sources: [
      { name: 'etcd', up: true, lastSuccess: '2026-11-27T08:40:01.000Z', reason: null, error: null },
      { name: 'kubernetes', up: true, lastSuccess: '2026-11-27T08:40:02.500Z', reason: null, error: null },
    ],
    rows: [
      {
        memberId: IDS.c1,
        member: { name: 'c1.example.org', peerAddress: '127.0.0.1', learner: false, started: true },
        objects: [
          { name: 'c1', peerAddress: '127.0.0.1', leave: false, reconcileStatus: null },
          { name: 'c1.example.org', peerAddress: '127.0.0.1', leave: false, reconcileStatus: 'Success' },
        ],
        findings: ['duplicate', 'hostname_drift'],
      },
      {
        memberId: IDS.c2,
        member: { name: 'c2.example.org', peerAddress: '127.0.0.2', learner: false, started: true },
        objects: [{ name: 'c2.example.org', peerAddress: '127.0.0.2', leave: false, reconcileStatus: 'Success' }],
        findings: [],
      },
      {
        memberId: IDS.c3,
        member: { name: 'c3.example.org', peerAddress: '127.0.0.3', learner: false, started: true },
        objects: [{ name: 'c3.example.org', peerAddress: '127.0.0.3', leave: false, reconcileStatus: 'Success' }],
        findings: [],
      },
    ],
    findings: [
      {
        subject: 'object', name: 'c1', memberId: IDS.c1, problem: 'duplicate',
        message: 'c1 carries the member ID of c1.example.org, which has its own object: c1 is stale.',
        command: 'kubectl delete etcdmember c1', runbook: `${RUNBOOK}#k0setcdmemberduplicate`,
      },
      {
        subject: 'object', name: 'c1', memberId: IDS.c1, problem: 'hostname_drift',
        message: 'c1 is not named after its etcd member c1.example.org: c1 is the stale duplicate, and deleting it clears this too.',
        command: 'kubectl delete etcdmember c1', runbook: `${RUNBOOK}#k0setcdmemberhostnamedrift`,
      },
    ],
    local: { memberName: 'c1.example.org', memberId: IDS.c1, registrationName: 'c1.example.org', nameDrift: false },
  };
}

/** A view with `count` members, each with its object, and every tenth member with a stale duplicate. */
export function largeDocument(count: number): StatusDocument {
  const doc = k0s5369Document();
  doc.rows = [];
  doc.findings = [];
  for (let i = 0; i < count; i++) {
    const id = (0x1000 + i).toString(16);
    const name = `c${i}.example.org`;
    const peer = `10.0.${i >> 8}.${i & 255}`;
    const objects = [{ name, peerAddress: peer, leave: false, reconcileStatus: 'Success' }];
    if (i % 10 === 0) {
      objects.unshift({ name: `c${i}`, peerAddress: peer, leave: false, reconcileStatus: 'Success' });
      doc.findings.push({
        subject: 'object', name: `c${i}`, memberId: id, problem: 'duplicate',
        message: `c${i} carries the member ID of ${name}, which has its own object: c${i} is stale.`,
        command: `kubectl delete etcdmember c${i}`, runbook: `${RUNBOOK}#k0setcdmemberduplicate`,
      });
    }
    doc.rows.push({ memberId: id, member: { name, peerAddress: peer, learner: false, started: true }, objects, findings: i % 10 === 0 ? ['duplicate'] : [] });
  }
  return doc;
}
