// Where the real test peers live: the binaries scripts/peers.sh builds and
// caches outside the work tree ($CASA_PEERS_DIR, default ~/.cache/casa-peers).
// Suites that need a peer ask requirePeer(); a missing peer skips the suite
// with a visible reason on a developer machine, and fails it in CI (CI=true),
// where scripts/peers.sh has run before the e2e suites.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/agent/paths.js';

export const PEER_NAMES = ['kube-apiserver', 'etcd', 'helm', 'ghz', 'envoy-validate'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** A peer lookup: the path, and why the suite must be skipped (undefined when present). */
export interface PeerRequirement {
  readonly path: string;
  readonly skip: string | undefined;
}

/** Several peers at once: their paths, and one skip reason naming every missing peer. */
export interface PeersRequirement {
  readonly paths: Readonly<Record<PeerName, string>>;
  readonly skip: string | undefined;
}

function envKey(name: PeerName): string {
  return `CASA_PEER_${name.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The paths scripts/peers.sh --print reports (it owns the layout, including
 * envoy-validate's source-hash key; CASA_PEERS_DIR is passed through). A
 * CASA_PEER_<NAME> environment variable overrides one path.
 */
export function peerPaths(env: NodeJS.ProcessEnv = process.env): Record<PeerName, string> {
  const out = execFileSync('bash', [join(packageRoot(), 'scripts', 'peers.sh'), '--print'], {
    encoding: 'utf8',
    env,
  });
  const printed = new Map<string, string>();
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) printed.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const paths = {} as Record<PeerName, string>;
  for (const name of PEER_NAMES) {
    const key = envKey(name);
    const path = env[key] || printed.get(key);
    if (!path) throw new Error(`scripts/peers.sh --print reports no ${key}`);
    paths[name] = path;
  }
  return paths;
}

/** The path of one peer, present or not. */
export function peerPath(name: PeerName, env: NodeJS.ProcessEnv = process.env): string {
  return peerPaths(env)[name];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CI=true (any value but empty, false or 0): missing peers are failures, not skips. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Looks the peers up for a suite. Use the result as node:test options:
 * `describe('…', { skip: peers.skip }, …)`. In CI a missing peer throws, so the
 * test file fails instead of skipping.
 */
export function requirePeers(
  names: readonly PeerName[],
  env: NodeJS.ProcessEnv = process.env,
): PeersRequirement {
  const paths = peerPaths(env);
  const missing = names.filter((n) => !isExecutable(paths[n]));
  if (missing.length === 0) return { paths, skip: undefined };
  const reason =
    `missing test peer${missing.length > 1 ? 's' : ''} ` +
    `${missing.map((n) => `${n} (${paths[n]})`).join(', ')}: run bash scripts/peers.sh`;
  if (inCi(env)) throw new Error(`CI=true and ${reason}`);
  return { paths, skip: reason };
}

/** requirePeers for a single peer. */
export function requirePeer(name: PeerName, env: NodeJS.ProcessEnv = process.env): PeerRequirement {
  const r = requirePeers([name], env);
  return { path: r.paths[name], skip: r.skip };
}
