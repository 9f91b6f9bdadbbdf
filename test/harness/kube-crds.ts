// Installs the real CRDs (every *.yaml in a folder) into the test apiserver
// and waits until each is Established and its resources are served, so the
// first create in a test is validated by the CRD's schema instead of 404ing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeRequest } from './kube-request.js';

interface Crd {
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: { plural: string; kind: string };
    versions: { name: string; served: boolean }[];
  };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** `group/kind` → plural of the CRDs (for resource paths). */
export function crdPlurals(crds: readonly Crd[]): Map<string, string> {
  return new Map(crds.map((c) => [`${c.spec.group}/${c.spec.names.kind}`, c.spec.names.plural]));
}

export function readCrds(dir: string): Crd[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const crds: Crd[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as Crd | null;
      if (obj === null) continue;
      if (obj.kind !== 'CustomResourceDefinition') throw new Error(`${file}: not a CRD (kind ${obj.kind})`);
      crds.push(obj);
    }
  }
  if (crds.length === 0) throw new Error(`no CRDs in ${dir}`);
  return crds;
}

/** Creates (or server-side applies, if present) every CRD in `dir`; returns their names. */
export async function installCrds(request: KubeRequest, dir: string): Promise<string[]> {
  const crds = readCrds(dir);
  for (const crd of crds) {
    const { status: _status, ...body } = crd;
    let res = await request('POST', CRD_PATH, body);
    if (res.status === 409) {
      res = await request(
        'PATCH',
        `${CRD_PATH}/${crd.metadata.name}?fieldManager=casa-test&force=true`,
        body,
        'application/apply-patch+yaml',
      );
    }
    if (res.status !== 200 && res.status !== 201) {
      throw new Error(
        `CRD ${crd.metadata.name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`,
      );
    }
  }
  for (const crd of crds) await waitServed(request, crd);
  return crds.map((c) => c.metadata.name);
}

async function waitServed(request: KubeRequest, crd: Crd): Promise<void> {
  const name = crd.metadata.name;
  const deadline = Date.now() + 60_000;
  let last = 'not checked';
  for (;;) {
    const res = await request('GET', `${CRD_PATH}/${name}`);
    const conditions = (res.body as Crd).status?.conditions ?? [];
    const established = conditions.find((c) => c.type === 'Established');
    if (established?.status === 'True') {
      // The Established condition precedes discovery and the REST handlers a little.
      const served = crd.spec.versions.filter((v) => v.served);
      const lists = await Promise.all(
        served.map((v) =>
          request('GET', `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}?limit=1`),
        ),
      );
      if (lists.every((r) => r.status === 200)) return;
      last = `list returned ${lists.map((r) => r.status).join(',')}`;
    } else {
      last = JSON.stringify(conditions);
    }
    if (Date.now() > deadline) throw new Error(`CRD ${name} not served after 60 s (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
