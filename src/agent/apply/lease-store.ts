// The Lease the agents elect their single writer with
// (coordination.k8s.io/v1, in the agent's namespace), behind a small port so
// the election rules can be tested without an apiserver. Writes are
// optimistic: an update carries the resourceVersion it read, so two agents
// racing for the same Lease cannot both win (the second gets 409).
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { statusCodeOf } from '../inventory/kube-api.js';

export interface LeaseRecord {
  /** Empty or absent: nobody holds it (released). */
  readonly holder?: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: Date;
  readonly renewTime?: Date;
  readonly transitions: number;
}

export interface StoredLease extends LeaseRecord {
  readonly resourceVersion: string;
}

export interface LeaseStore {
  /** `${namespace}/${name}`, for logs and /debug/state. */
  readonly description: string;
  /** undefined when the Lease does not exist. */
  get(): Promise<StoredLease | undefined>;
  /** Rejects with a LeaseConflict when someone created it first. */
  create(r: LeaseRecord): Promise<StoredLease>;
  /** Rejects with a LeaseConflict when it changed since `resourceVersion` was read. */
  update(r: LeaseRecord, resourceVersion: string): Promise<StoredLease>;
}

/** Someone else wrote the Lease between our read and our write: not an error, just a lost race. */
export class LeaseConflict extends Error {
  override name = 'LeaseConflict';
}

export class KubeLeaseStore implements LeaseStore {
  readonly description: string;
  private readonly api: CoordinationV1Api;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.description = `${namespace}/${name}`;
  }

  async get(): Promise<StoredLease | undefined> {
    try {
      return fromLease(
        await this.bounded(this.api.readNamespacedLease({ name: this.name, namespace: this.namespace })),
      );
    } catch (err) {
      if (statusCodeOf(err) === 404) return undefined;
      throw err;
    }
  }

  async create(r: LeaseRecord): Promise<StoredLease> {
    try {
      const body = toLease(this.name, r);
      return fromLease(
        await this.bounded(this.api.createNamespacedLease({ namespace: this.namespace, body })),
      );
    } catch (err) {
      if (statusCodeOf(err) === 409) throw new LeaseConflict(`Lease ${this.description} already exists`);
      throw err;
    }
  }

  async update(r: LeaseRecord, resourceVersion: string): Promise<StoredLease> {
    try {
      const body = toLease(this.name, r, resourceVersion);
      return fromLease(
        await this.bounded(
          this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body }),
        ),
      );
    } catch (err) {
      if (statusCodeOf(err) === 409) throw new LeaseConflict(`Lease ${this.description} changed meanwhile`);
      throw err;
    }
  }

  /** The generated client has no request timeout; a hung call must not stall the renew loop. */
  private bounded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Lease ${this.description}: no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}

function micro(d: Date | undefined): V1MicroTime | undefined {
  return d ? new V1MicroTime(d.getTime()) : undefined;
}

function toLease(name: string, r: LeaseRecord, resourceVersion?: string): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      ...(r.holder ? { holderIdentity: r.holder } : {}),
      leaseDurationSeconds: r.leaseDurationSeconds,
      ...(r.acquireTime ? { acquireTime: micro(r.acquireTime) } : {}),
      ...(r.renewTime ? { renewTime: micro(r.renewTime) } : {}),
      leaseTransitions: r.transitions,
    },
  };
}

function fromLease(l: V1Lease): StoredLease {
  const s = l.spec ?? {};
  return {
    ...(s.holderIdentity ? { holder: s.holderIdentity } : {}),
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    ...(s.acquireTime ? { acquireTime: new Date(s.acquireTime) } : {}),
    ...(s.renewTime ? { renewTime: new Date(s.renewTime) } : {}),
    transitions: s.leaseTransitions ?? 0,
    resourceVersion: l.metadata?.resourceVersion ?? '',
  };
}
