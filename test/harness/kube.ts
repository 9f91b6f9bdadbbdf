// A real Kubernetes control plane for e2e tests: etcd + kube-apiserver on
// loopback (what controller-runtime's envtest runs), RBAC on, service-account
// tokens signed with a key made here, an admin user from a static token file,
// and every CRD of shared/crds installed and Established. No scheduler,
// kubelet or controller manager: pods are created bound to a node and their
// status is patched (see kube-objects.ts).
//
// One control plane per test file: call useKube() at the top of the file; it
// starts in a before() hook and is torn down in after(), processes and temp
// folder included, also when a test fails or the process exits early.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { packageRoot } from '../../src/agent/paths.js';
import { crdPlurals, installCrds, readCrds } from './kube-crds.js';
import { type KubeObjects, kubeObjects } from './kube-objects.js';
import { type ObjectRef, resourcePathFor } from './kube-paths.js';
import { type ApiResponse, type KubeRequest, kubeRequest } from './kube-request.js';
import { inCi, requirePeers } from './peers.js';
import { freePort, ProcessGroup } from './processes.js';

export type { NamespaceOptions, PodOptions, TokenOptions } from './kube-objects.js';
export type { ObjectRef } from './kube-paths.js';
export type { ApiResponse, KubeRequest } from './kube-request.js';

export interface KubeOptions {
  /** Folder of CRD YAML files to install (default: shared/crds beside the checkout). */
  readonly crdDir?: string;
  /** Set false to start without CRDs. */
  readonly installCrds?: boolean;
  /** Extra kube-apiserver flags (e.g. feature gates). */
  readonly apiserverFlags?: readonly string[];
  /** Binaries (default: the cached peers, see peers.ts). */
  readonly etcdPath?: string;
  readonly apiserverPath?: string;
}

/** The kube-apiserver alone, for restart tests; etcd (and so all data) stays up. */
export interface Apiserver {
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 5 s) and wait for the process to exit. */
  stop(): Promise<void>;
  /** Start again on the same port, certificates and keys; resolves at /readyz. */
  start(): Promise<void>;
}

export interface TestKube extends KubeObjects {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig file (admin user, CA of the serving certificate) for helm and the agent. */
  readonly kubeconfigPath: string;
  /** The same, loaded for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** CA bundle the apiserver's self-signed serving certificate chains to. */
  readonly caFile: string;
  /** Bearer token of the admin user (system:masters). */
  readonly adminToken: string;
  /** The service-account token issuer (`iss` of TokenRequest tokens). */
  readonly issuer: string;
  /** Names of the installed CRDs. */
  readonly crds: readonly string[];
  readonly apiserver: Apiserver;
  /** A raw authenticated API call (status and parsed body; never throws on HTTP errors). */
  readonly request: KubeRequest;
  /** The API path of an object (of its collection when it has no name); built-in kinds and the installed CRDs. */
  resourcePath(obj: ObjectRef): string;
  /**
   * Server-side apply (force, strict field validation: unknown fields are
   * errors) as `fieldManager` (default casa-test); the raw response.
   */
  apply(obj: ObjectRef, fieldManager?: string): Promise<ApiResponse>;
  /** The last output lines of etcd and kube-apiserver. */
  logs(lines?: number): string;
  /** Stops everything and removes the temp folder. Idempotent. */
  close(): Promise<void>;
}

/** The CRDs shipped beside the checkout: $CASA_SHARED/crds, else <repo>/../shared/crds. */
export function defaultCrdDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CASA_SHARED ?? join(packageRoot(), '..', 'shared'), 'crds');
}

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Starts etcd and kube-apiserver, installs the CRDs, returns when everything is served. */
export async function startKube(options: KubeOptions = {}): Promise<TestKube> {
  const bins =
    options.etcdPath && options.apiserverPath
      ? { etcd: options.etcdPath, apiserver: options.apiserverPath }
      : (() => {
          const { paths } = requirePeers(['etcd', 'kube-apiserver']);
          return {
            etcd: options.etcdPath ?? paths.etcd,
            apiserver: options.apiserverPath ?? paths['kube-apiserver'],
          };
        })();
  const dir = mkdtempSync(join(tmpdir(), 'casa-kube-'));
  const group = new ProcessGroup(dir);
  try {
    return await boot(group, bins, options);
  } catch (err) {
    const tail = group.tail.text();
    await group.close();
    throw new Error(`test control plane did not start: ${(err as Error).message}\n${tail}`);
  }
}

async function boot(
  group: ProcessGroup,
  bins: { etcd: string; apiserver: string },
  options: KubeOptions,
): Promise<TestKube> {
  const dir = group.dir;
  const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const adminToken = randomBytes(24).toString('base64url');
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},casa-test-admin,casa-test-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  const certDir = join(dir, 'certs');
  mkdirSync(certDir);

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcd = group.spawn('etcd', bins.etcd, [
    '--name=casa-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=casa-test=http://127.0.0.1:${etcdPeerPort}`,
    // Test data need not survive a power cut; fsync dominates etcd's latency.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await waitFor('etcd /health', 30_000, async () => {
    if (etcd.exitCode !== null) throw new Error(`etcd exited with ${etcd.exitCode}`);
    const res = await fetch(`${etcdUrl}/health`).catch(() => undefined);
    return res?.ok === true;
  });

  const apiserverArgs = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${certDir}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    `--service-account-issuer=${ISSUER}`,
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--authorization-mode=RBAC',
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    '--endpoint-reconciler-type=none',
    ...(options.apiserverFlags ?? []),
  ];
  const url = `https://127.0.0.1:${apiPort}`;
  let api = group.spawn('kube-apiserver', bins.apiserver, apiserverArgs);
  // Until the serving certificate exists, readiness is polled without verification.
  const insecure = kubeRequest(url, adminToken, undefined);
  const waitReady = (request: KubeRequest) =>
    waitFor('kube-apiserver /readyz', 120_000, async () => {
      if (api.exitCode !== null) throw new Error(`kube-apiserver exited with ${api.exitCode}`);
      const res = await request('GET', '/readyz').catch(() => undefined);
      return res?.status === 200;
    });
  await waitReady(insecure);
  await insecure.close();

  // The self-signed serving certificate (with its CA appended) lists 127.0.0.1;
  // clients verify against it rather than skipping TLS verification.
  const caFile = join(certDir, 'apiserver.crt');
  const ca = readFileSync(caFile, 'utf8');
  const request = kubeRequest(url, adminToken, ca);
  const crdDir = options.crdDir ?? defaultCrdDir();
  const crds = options.installCrds === false ? [] : await installCrds(request, crdDir);
  const resourcePath = resourcePathFor(
    options.installCrds === false ? new Map() : crdPlurals(readCrds(crdDir)),
  );

  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYaml(url, ca, adminToken), { mode: 0o600 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);

  const apiserver: Apiserver = {
    get running() {
      return api.exitCode === null && api.signalCode === null;
    },
    stop: () => group.stop(api),
    async start() {
      if (apiserver.running) return;
      api = group.spawn('kube-apiserver', bins.apiserver, apiserverArgs);
      await waitReady(request);
    },
  };
  return {
    url,
    kubeconfigPath,
    kubeConfig,
    caFile,
    adminToken,
    issuer: ISSUER,
    crds,
    apiserver,
    request,
    resourcePath,
    apply: (obj, fieldManager = 'casa-test') =>
      request(
        'PATCH',
        `${resourcePath(obj)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true&fieldValidation=Strict`,
        obj,
        'application/apply-patch+yaml',
      ),
    ...kubeObjects(kubeConfig),
    logs: (lines = 40) => group.tail.text(lines),
    async close() {
      await request.close();
      await group.close();
    },
  };
}

function kubeconfigYaml(url: string, ca: string, token: string): string {
  const caData = Buffer.from(ca).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: casa-test',
    `  cluster: {server: "${url}", certificate-authority-data: "${caData}"}`,
    'users:',
    '- name: casa-test-admin',
    `  user: {token: "${token}"}`,
    'contexts:',
    '- name: casa-test',
    '  context: {cluster: casa-test, user: casa-test-admin}',
    'current-context: casa-test',
    '',
  ].join('\n');
}

/** Polls `ready` every 100 ms until it returns true; throws after `ms` or on its error. */
export async function waitFor(what: string, ms: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What useKube() hands a test file. */
export interface KubeFixture {
  /** Why the file's suites must be skipped (a peer or the CRDs are missing), else undefined. */
  readonly skip: string | undefined;
  /** The running control plane (throws when skipped or before the before() hook ran). */
  readonly kube: TestKube;
}

/**
 * One control plane for the calling test file (or describe block): started in
 * before(), closed in after(). Pass `{ skip: fixture.skip }` to the suites.
 * Off CI a missing peer or CRD folder skips; with CI=true it fails the file.
 */
export function useKube(options: KubeOptions = {}): KubeFixture {
  const peers = requirePeers(['etcd', 'kube-apiserver']);
  const crdDir = options.crdDir ?? defaultCrdDir();
  let skip = peers.skip;
  if (!skip && options.installCrds !== false && !existsSync(crdDir)) {
    const reason = `CRD folder ${crdDir} not found (set CASA_SHARED to the folder holding crds/)`;
    if (inCi()) throw new Error(`CI=true and ${reason}`);
    skip = reason;
  }
  let kube: TestKube | undefined;
  before(async () => {
    if (skip) return;
    kube = await startKube({
      ...options,
      crdDir,
      etcdPath: options.etcdPath ?? peers.paths.etcd,
      apiserverPath: options.apiserverPath ?? peers.paths['kube-apiserver'],
    });
  });
  after(async () => {
    await kube?.close();
    kube = undefined;
  });
  return {
    skip,
    get kube(): TestKube {
      if (!kube) throw new Error(skip ?? 'the test control plane is not running (did before() fail?)');
      return kube;
    },
  };
}
