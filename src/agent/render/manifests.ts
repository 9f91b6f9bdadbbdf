// Reads MultiAgentSystems and Services from YAML/JSON manifest files for
// `casa-agent render`. Untrusted input: every field is checked once here and a
// bad one is reported with the file, the document and the field path.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type AppSpec, isAppType, type MultiAgentSystem } from '../../policy/types.js';
import type { ServiceInfo } from './app-services.js';

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'ManifestError';
  }
}

export interface Manifests {
  readonly multiAgentSystems: MultiAgentSystem[];
  readonly services: ServiceInfo[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The manifest files of a folder (`.yaml`, `.yml`, `.json`), sorted, not recursive. */
export function manifestFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ManifestError(dir, 'manifests', `cannot read folder: ${(err as Error).message}`);
  }
  return names
    .filter((n) => /\.(ya?ml|json)$/i.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile());
}

/** Reads every document of the files; kinds other than MultiAgentSystem and Service are skipped. */
export function readManifests(files: readonly string[]): Manifests {
  const out: Manifests = { multiAgentSystems: [], services: [] };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ManifestError(file, 'file', `cannot read: ${(err as Error).message}`);
    }
    parseManifestText(text, file, out);
  }
  return out;
}

export function parseManifestText(text: string, file: string, into: Manifests): void {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `document ${i + 1}` : 'document';
    if (doc.errors.length > 0) {
      throw new ManifestError(file, where, `not valid YAML: ${doc.errors[0]?.message ?? 'parse error'}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObj(value)) throw new ManifestError(file, where, 'expected a Kubernetes object (a mapping)');
    addObject(value, file, where, into);
  });
}

function addObject(obj: Obj, file: string, where: string, into: Manifests): void {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    obj.items.forEach((item, j) => {
      if (!isObj(item)) throw new ManifestError(file, `${where} items[${j}]`, 'expected an object');
      addObject(item, file, `${where} items[${j}]`, into);
    });
    return;
  }
  if (obj.kind === 'MultiAgentSystem') into.multiAgentSystems.push(parseMultiAgentSystem(obj, file));
  else if (obj.kind === 'Service' && obj.apiVersion === 'v1') into.services.push(parseService(obj, file));
}

function str(v: unknown, file: string, field: string, required: true): string;
function str(v: unknown, file: string, field: string, required: false): string | undefined;
function str(v: unknown, file: string, field: string, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new ManifestError(file, field, 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '')
    throw new ManifestError(file, field, 'expected a non-empty string');
  return v.trim();
}

function meta(obj: Obj, file: string): { name: string; namespace: string } {
  if (!isObj(obj.metadata)) throw new ManifestError(file, 'metadata', 'is required');
  const name = str(obj.metadata.name, file, 'metadata.name', true);
  const namespace = str(obj.metadata.namespace, file, 'metadata.namespace', false) ?? 'default';
  return { name, namespace };
}

/** A `casa.io/v1alpha1` MultiAgentSystem object → MultiAgentSystem. */
export function parseMultiAgentSystem(obj: Obj, file: string): MultiAgentSystem {
  if (obj.apiVersion !== 'casa.io/v1alpha1') {
    throw new ManifestError(
      file,
      'apiVersion',
      `expected casa.io/v1alpha1, got ${JSON.stringify(obj.apiVersion)}`,
    );
  }
  const ref = meta(obj, file);
  const at = `MultiAgentSystem ${ref.namespace}/${ref.name} `;
  if (!isObj(obj.spec)) throw new ManifestError(file, `${at}spec`, 'is required');
  const spec = obj.spec;
  const llmHost = str(spec.llm_host, file, `${at}spec.llm_host`, false);
  if (spec.apps !== undefined && !Array.isArray(spec.apps)) {
    throw new ManifestError(file, `${at}spec.apps`, 'expected a list');
  }
  const names = new Set<string>();
  const apps = ((spec.apps as unknown[] | undefined) ?? []).map((raw, i): AppSpec => {
    const f = `${at}spec.apps[${i}]`;
    if (!isObj(raw)) throw new ManifestError(file, f, 'expected an object');
    const name = str(raw.name, file, `${f}.name`, true);
    if (names.has(name))
      throw new ManifestError(file, `${f}.name`, `duplicate app name ${JSON.stringify(name)}`);
    names.add(name);
    if (!isAppType(raw.type)) {
      throw new ManifestError(
        file,
        `${f}.type`,
        `expected agent, mcp_server or client, got ${JSON.stringify(raw.type)}`,
      );
    }
    let baseUrl: AppSpec['baseUrl'];
    if (raw.baseUrl !== undefined) {
      if (!isObj(raw.baseUrl)) throw new ManifestError(file, `${f}.baseUrl`, 'expected an object');
      const host = str(raw.baseUrl.host, file, `${f}.baseUrl.host`, true);
      const scheme = str(raw.baseUrl.scheme, file, `${f}.baseUrl.scheme`, false) ?? 'http';
      if (scheme !== 'http' && scheme !== 'https') {
        throw new ManifestError(
          file,
          `${f}.baseUrl.scheme`,
          `expected http or https, got ${JSON.stringify(scheme)}`,
        );
      }
      baseUrl = { host, scheme };
    }
    let promptFieldJsonPath: string | undefined;
    if (raw.httpRequestSchema !== undefined) {
      if (!isObj(raw.httpRequestSchema))
        throw new ManifestError(file, `${f}.httpRequestSchema`, 'expected an object');
      promptFieldJsonPath = str(
        raw.httpRequestSchema.promptFieldJsonPath,
        file,
        `${f}.httpRequestSchema.promptFieldJsonPath`,
        true,
      );
    }
    const kubernetesWorkloadName = str(
      raw.kubernetesWorkloadName,
      file,
      `${f}.kubernetesWorkloadName`,
      false,
    );
    return {
      name,
      type: raw.type,
      ...(kubernetesWorkloadName ? { kubernetesWorkloadName } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(promptFieldJsonPath ? { promptFieldJsonPath } : {}),
    };
  });
  return { ref, ...(llmHost ? { llmHost } : {}), apps };
}

/** A `v1` Service → the ports and ClusterIPs the renderer uses. */
export function parseService(obj: Obj, file: string): ServiceInfo {
  const ref = meta(obj, file);
  const at = `Service ${ref.namespace}/${ref.name} `;
  const spec = isObj(obj.spec) ? obj.spec : {};
  const rawPorts = spec.ports ?? [];
  if (!Array.isArray(rawPorts)) throw new ManifestError(file, `${at}spec.ports`, 'expected a list');
  const ports = rawPorts.map((p, i) => {
    const f = `${at}spec.ports[${i}]`;
    if (!isObj(p)) throw new ManifestError(file, f, 'expected an object');
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new ManifestError(file, `${f}.port`, 'expected an integer from 1 to 65535');
    }
    const protocol = str(p.protocol, file, `${f}.protocol`, false) ?? 'TCP';
    const name = str(p.name, file, `${f}.name`, false);
    return { port: p.port, protocol, ...(name ? { name } : {}) };
  });
  const ips = Array.isArray(spec.clusterIPs)
    ? spec.clusterIPs
    : typeof spec.clusterIP === 'string'
      ? [spec.clusterIP]
      : [];
  const clusterIps = ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
  return { namespace: ref.namespace, name: ref.name, ports, clusterIps };
}
