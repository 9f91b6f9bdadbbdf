// Bounded concurrency for runtime calls: at most `concurrency` in flight, at
// most `queue` waiting. A full queue refuses at once ('overloaded') instead of
// letting Checks pile up behind a slow runtime; a waiter whose deadline fires
// leaves the queue ('timeout'). Either way the Check denies (fail closed).
import { RuntimeError } from './runtime-client.js';

export interface CallGateOptions {
  /** Calls in flight at most (config `runtimeConcurrency`). */
  readonly concurrency: number;
  /** Calls waiting at most (config `runtimeQueue`); 0 = no waiting. */
  readonly queue: number;
}

interface Waiter {
  readonly grant: () => void;
  readonly refuse: (e: RuntimeError) => void;
}

export interface CallGateStats {
  readonly inFlight: number;
  readonly waiting: number;
  /** Calls refused because the queue was full, since start. */
  readonly overloaded: number;
}

export class CallGate {
  readonly #concurrency: number;
  readonly #queueLimit: number;
  // A Set keeps FIFO order and removes an aborted waiter in O(1).
  readonly #waiting = new Set<Waiter>();
  #inFlight = 0;
  #overloaded = 0;

  constructor(opts: CallGateOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
      throw new RangeError(`runtimeConcurrency: expected an integer >= 1, got ${opts.concurrency}`);
    }
    if (!Number.isInteger(opts.queue) || opts.queue < 0) {
      throw new RangeError(`runtimeQueue: expected an integer >= 0, got ${opts.queue}`);
    }
    this.#concurrency = opts.concurrency;
    this.#queueLimit = opts.queue;
  }

  get stats(): CallGateStats {
    return { inFlight: this.#inFlight, waiting: this.#waiting.size, overloaded: this.#overloaded };
  }

  /**
   * Resolves with a release function once a slot is free. `signal` is the
   * call's deadline: when it fires while waiting, the promise rejects with
   * RuntimeError('timeout') and the slot is never taken.
   */
  acquire(op: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(deadlineError(op));
    if (this.#inFlight < this.#concurrency) {
      this.#inFlight++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.size >= this.#queueLimit) {
      this.#overloaded++;
      return Promise.reject(
        new RuntimeError('overloaded', `runtime ${op}: ${this.#waiting.size} calls already waiting`),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiting.delete(waiter);
        reject(deadlineError(op));
      };
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
        refuse: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      this.#waiting.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Refuses every waiter (used on close). */
  refuseAll(op: string): void {
    for (const w of this.#waiting) {
      this.#waiting.delete(w);
      w.refuse(new RuntimeError('unavailable', `runtime ${op}: client closed`));
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.values().next();
      if (!next.done) {
        // Hand the slot over directly: in-flight count stays the same.
        this.#waiting.delete(next.value);
        next.value.grant();
      } else {
        this.#inFlight--;
      }
    };
  }
}

function deadlineError(op: string): RuntimeError {
  return new RuntimeError('timeout', `runtime ${op}: deadline expired while waiting for a call slot`);
}
