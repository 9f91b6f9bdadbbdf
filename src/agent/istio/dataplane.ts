// Which Envoy this agent serves: `--dataplane cilium|istio|auto`. `auto`
// asks the cluster what it runs — Cilium's envoy-config API first (the
// primary data plane), then Istio's — and records the answer and the reason,
// which the agent logs and shows in /debug/state. Neither API served is an
// error that says what to install or set, never a silent default.
// With `--inventory file` there is no cluster to ask: the manifests folder is
// read for the CRDs (or objects) of either data plane, else Cilium is chosen
// and the reason says so.
import { readFileSync } from 'node:fs';
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ConfigError } from '../config/load.js';
import { manifestFiles } from '../render/manifests.js';

export type DataplaneMode = 'cilium' | 'istio';

export interface DataplaneChoice {
  readonly mode: DataplaneMode;
  readonly why: string;
}

export interface ApiResourceRef {
  readonly group: string;
  readonly version: string;
  /** Plural resource name, as API discovery lists it. */
  readonly resource: string;
}

/** The envoy-config API the Cilium data plane needs. */
export const CILIUM_API: ApiResourceRef = {
  group: 'cilium.io',
  version: 'v2',
  resource: 'ciliumclusterwideenvoyconfigs',
};

/** Istio's APIs the Istio data plane attaches through (either one is enough to say "Istio"). */
export const ISTIO_APIS: readonly ApiResourceRef[] = [
  { group: 'networking.istio.io', version: 'v1alpha3', resource: 'envoyfilters' },
  { group: 'security.istio.io', version: 'v1', resource: 'authorizationpolicies' },
  { group: 'security.istio.io', version: 'v1beta1', resource: 'authorizationpolicies' },
];

/** API discovery: the resources served under a group version (undefined: not served). */
export interface ApiDiscovery {
  /** For messages: the apiserver asked. */
  readonly server: string;
  resources(group: string, version: string): Promise<readonly string[] | undefined>;
}

export interface DataplaneInput {
  readonly configured: 'cilium' | 'istio' | 'auto';
  readonly inventory: 'kubernetes' | 'file';
  readonly manifests?: string;
  /** Built on demand, only for `auto` with the Kubernetes inventory. */
  readonly discovery?: () => ApiDiscovery;
}

export async function chooseDataplane(input: DataplaneInput): Promise<DataplaneChoice> {
  if (input.configured !== 'auto') {
    return { mode: input.configured, why: `dataplane=${input.configured} (configured)` };
  }
  if (input.inventory === 'file') return fromManifests(input.manifests);
  if (!input.discovery) throw new Error('dataplane auto needs API discovery');
  return fromDiscovery(input.discovery());
}

const label = (r: ApiResourceRef) => `${r.group}/${r.version} ${r.resource}`;

async function serves(d: ApiDiscovery, r: ApiResourceRef): Promise<boolean> {
  const served = await d.resources(r.group, r.version);
  return served?.includes(r.resource) ?? false;
}

export async function fromDiscovery(d: ApiDiscovery): Promise<DataplaneChoice> {
  if (await serves(d, CILIUM_API)) {
    return { mode: 'cilium', why: `auto: ${d.server} serves ${label(CILIUM_API)}` };
  }
  for (const api of ISTIO_APIS) {
    if (await serves(d, api)) {
      return {
        mode: 'istio',
        why: `auto: ${d.server} serves ${label(api)} and not ${label(CILIUM_API)}`,
      };
    }
  }
  throw new ConfigError(
    'dataplane',
    `auto found neither Cilium's envoy-config API (${label(CILIUM_API)}) nor Istio's ` +
      `(${ISTIO_APIS.map(label).join(', ')}) on ${d.server}: install Cilium ≥ 1.16 with its ` +
      'envoy config enabled or Istio, or set --dataplane cilium|istio',
  );
}

const CILIUM_CRD = `${CILIUM_API.resource}.${CILIUM_API.group}`;
const ISTIO_CRDS = new Set(ISTIO_APIS.map((a) => `${a.resource}.${a.group}`));

/** What a manifests folder says about the data plane (CRDs first, then objects of either API group). */
export function fromManifests(dir: string | undefined): DataplaneChoice {
  if (!dir)
    return { mode: 'cilium', why: 'auto with --inventory file and no manifests folder: using cilium' };
  let cilium: string | undefined;
  let istio: string | undefined;
  let files: string[];
  try {
    files = manifestFiles(dir);
  } catch (err) {
    throw new ConfigError('manifests', (err as Error).message);
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) continue;
      const o = doc.toJS() as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
      if (o === null || typeof o !== 'object') continue;
      const group = typeof o.apiVersion === 'string' ? o.apiVersion.split('/')[0] : undefined;
      const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
      if (o.kind === 'CustomResourceDefinition') {
        if (name === CILIUM_CRD) cilium ??= `CRD ${name} in ${file}`;
        if (ISTIO_CRDS.has(name)) istio ??= `CRD ${name} in ${file}`;
      } else if (group === CILIUM_API.group) {
        cilium ??= `${String(o.kind)} ${name} in ${file}`;
      } else if (group !== undefined && ISTIO_APIS.some((a) => a.group === group)) {
        istio ??= `${String(o.kind)} ${name} in ${file}`;
      }
    }
  }
  if (cilium) return { mode: 'cilium', why: `auto with --inventory file: ${cilium}` };
  if (istio)
    return { mode: 'istio', why: `auto with --inventory file: ${istio}, no Cilium envoy-config API` };
  return {
    mode: 'cilium',
    why: `auto with --inventory file: no Cilium or Istio CRD or object in ${dir}; using cilium (the default)`,
  };
}

/** API discovery through @kubernetes/client-node (GET /apis/<group>/<version>). */
export function kubeDiscovery(kc: KubeConfig): ApiDiscovery {
  const api = kc.makeApiClient(CustomObjectsApi);
  return {
    server: kc.getCurrentCluster()?.server ?? 'the apiserver',
    async resources(group, version) {
      try {
        const list = await api.getAPIResources({ group, version });
        return (list.resources ?? []).map((r) => r.name);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        const why = err instanceof ApiException ? `HTTP ${err.code}` : (err as Error).message;
        throw new Error(`dataplane auto: API discovery of ${group}/${version} failed: ${why}`);
      }
    },
  };
}
