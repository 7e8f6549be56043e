// Where the testbed finds the repository's files. Compiled to dist/testbed/, so the repository root is two levels up.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** k0s fixtures kept in the repository (see testbed/fixtures/k0s/README.md). */
export const K0S_FIXTURES = join(REPO_ROOT, 'testbed', 'fixtures', 'k0s');
export const CRD_PATH = join(K0S_FIXTURES, 'etcdmembers.etcd.k0sproject.io.yaml');
