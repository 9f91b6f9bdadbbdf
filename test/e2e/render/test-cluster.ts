// A real kube-apiserver + etcd on loopback with the real CRDs of shared/crds,
// for the renderer and chart suites (what controller-runtime's envtest does).
// Binaries come from scripts/peers.sh (cached; built once). Everything started
// here is stopped by stop(), temp dirs included.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../../src/agent/paths.js';

export function peerPath(name: 'kube-apiserver' | 'etcd' | 'helm' | 'envoy-validate'): string {
  const key = `CASA_PEER_${name.toUpperCase().replace(/-/g, '_')}`;
  if (process.env[key]) return process.env[key] as string;
  const out = execFileSync('bash', [join(packageRoot(), 'scripts/peers.sh'), '--print'], {
    encoding: 'utf8',
  });
  const line = out.split('\n').find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`scripts/peers.sh --print has no ${key}`);
  return line.slice(key.length + 1);
}

/** The shared/ folder beside the checkout (CASA_SHARED overrides). */
export function sharedDir(): string {
  return process.env.CASA_SHARED ?? join(packageRoot(), '..', 'shared');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface TestCluster {
  readonly url: string;
  readonly kubeconfig: string;
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse>;
  /** Server-side apply with strict field validation (unknown fields are errors). */
  apply(obj: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<ApiResponse>;
  /** Create (POST) with strict field validation. */
  create(obj: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string };
  }): Promise<ApiResponse>;
  stop(): Promise<void>;
}

const PLURALS: Record<string, string> = {
  CiliumClusterwideEnvoyConfig: 'ciliumclusterwideenvoyconfigs',
  CiliumClusterwideNetworkPolicy: 'ciliumclusterwidenetworkpolicies',
  CiliumEnvoyConfig: 'ciliumenvoyconfigs',
  CiliumNetworkPolicy: 'ciliumnetworkpolicies',
  MultiAgentSystem: 'multiagentsystems',
  Namespace: 'namespaces',
  Service: 'services',
};

export function resourcePath(obj: {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string };
}): string {
  const plural = PLURALS[obj.kind];
  if (!plural) throw new Error(`no plural known for ${obj.kind}`);
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : '';
  return `${base}${ns}/${plural}${obj.metadata.name ? `/${obj.metadata.name}` : ''}`;
}

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

export async function startTestCluster(crdFiles: readonly string[]): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'casa-kube-'));
  const token = randomBytes(16).toString('hex');
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,system:masters\n`);
  const logs: string[] = [];
  const keep = (p: ChildProcess, name: string) => {
    const push = (b: Buffer) => {
      logs.push(`[${name}] ${b.toString()}`);
      if (logs.length > 400) logs.shift();
    };
    p.stdout?.on('data', push);
    p.stderr?.on('data', push);
  };
  const etcd = spawn(
    peerPath('etcd'),
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  keep(etcd, 'etcd');
  const api = spawn(
    peerPath('kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--endpoint-reconciler-type=none',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  keep(api, 'kube-apiserver');
  const url = `https://127.0.0.1:${apiPort}`;
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await request(`${url}${path}`, {
      method: method as 'GET',
      dispatcher,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.statusCode, body: parsed };
  };
  const stop = async () => {
    await stopProcess(api);
    await stopProcess(etcd);
    await dispatcher.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (api.exitCode !== null) throw new Error('kube-apiserver exited');
      try {
        if ((await call('GET', '/readyz')).status === 200) break;
      } catch {}
      if (Date.now() > deadline) throw new Error('kube-apiserver not ready in 90 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const file of crdFiles) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const crd = doc.toJS() as { metadata: { name: string } } | null;
        if (!crd) continue;
        const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
        if (r.status !== 201)
          throw new Error(`CRD ${file}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        await waitEstablished(call, crd.metadata.name);
      }
    }
  } catch (err) {
    const tail = logs.slice(-30).join('');
    await stop();
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: test, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: admin, user: {token: "${token}"}}]`,
      'contexts: [{name: test, context: {cluster: test, user: admin}}]',
      'current-context: test',
      '',
    ].join('\n'),
  );
  return {
    url,
    kubeconfig,
    call,
    apply: (obj) =>
      call(
        'PATCH',
        `${resourcePath(obj)}?fieldManager=casa-e2e&force=true&fieldValidation=Strict`,
        obj,
        'application/apply-patch+yaml',
      ),
    create: (obj) =>
      call(
        'POST',
        `${resourcePath({ ...obj, metadata: { namespace: obj.metadata.namespace } })}?fieldValidation=Strict`,
        obj,
      ),
    stop,
  };
}

async function waitEstablished(
  call: (m: string, p: string) => Promise<ApiResponse>,
  name: string,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const conditions = ((r.body as { status?: { conditions?: { type: string; status: string }[] } }).status
      ?.conditions ?? []) as { type: string; status: string }[];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) {
      // Discovery lags the condition a little; wait until the group is served.
      return;
    }
    if (Date.now() > deadline) throw new Error(`CRD ${name} not established`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
