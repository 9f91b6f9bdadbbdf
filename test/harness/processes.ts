// Child processes for the test peers, started so that none outlives the test
// process: each runs in its own process group (killed as a group), a
// process.on('exit') hook kills what is still running, and a watchdog shell
// holding a pipe from this process kills the groups and removes the scratch
// folder if this process dies without running any hook (SIGKILL, crash).
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (bound then released, as envtest does). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** The last lines of output of the peers, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  constructor(private readonly max = 300) {}

  attach(child: ChildProcess, name: string): void {
    const push = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        this.#lines.push(`[${name}] ${line}`);
        if (this.#lines.length > this.max) this.#lines.shift();
      }
    };
    child.stdout?.on('data', push);
    child.stderr?.on('data', push);
  }

  text(last = 40): string {
    return this.#lines.slice(-last).join('\n');
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * The processes of one test environment and its scratch folder. Everything
 * it started is stopped by close(), or by the exit hook and the watchdog.
 */
export class ProcessGroup {
  readonly tail = new OutputTail();
  readonly #children = new Set<ChildProcess>();
  readonly #watchdog: ChildProcess;
  readonly #pgidFile: string;
  readonly #onExit = () => this.#killNow();
  #closed = false;

  constructor(readonly dir: string) {
    this.#pgidFile = join(dir, '.pgids');
    writeFileSync(this.#pgidFile, '');
    // `cat` returns when this process's end of the pipe closes, i.e. when it dies.
    this.#watchdog = spawn(
      'bash',
      [
        '-c',
        'cat >/dev/null; for g in $(cat "$1" 2>/dev/null); do kill -KILL -- "-$g" 2>/dev/null; done; rm -rf "$2"',
        'casa-test-watchdog',
        this.#pgidFile,
        dir,
      ],
      { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
    );
    this.#watchdog.unref();
    (this.#watchdog.stdin as Socket | null)?.unref();
    process.on('exit', this.#onExit);
  }

  /** Starts a command in its own process group, output kept in `tail`. */
  spawn(name: string, command: string, args: readonly string[]): ChildProcess {
    if (this.#closed) throw new Error(`cannot start ${name}: the environment is closed`);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.tail.attach(child, name);
    this.#children.add(child);
    child.once('exit', () => {
      this.#children.delete(child);
      this.#writePgids();
    });
    this.#writePgids();
    return child;
  }

  /** Stops one child: SIGTERM to its group, SIGKILL after `graceMs`. */
  async stop(child: ChildProcess, graceMs = 5000): Promise<void> {
    if (!alive(child)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    // Whatever the leader left behind in its group goes too.
    killGroup(child, 'SIGKILL');
  }

  /** Stops every child (in reverse start order), the watchdog, and removes the folder. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const child of [...this.#children].reverse()) await this.stop(child);
    this.#finish();
  }

  #writePgids(): void {
    if (this.#closed) return;
    const pgids = [...this.#children].map((c) => c.pid).filter((p) => p !== undefined);
    try {
      writeFileSync(this.#pgidFile, `${pgids.join('\n')}\n`);
    } catch {
      // The folder is being removed.
    }
  }

  // Synchronous: runs in the 'exit' hook, where nothing asynchronous happens.
  #killNow(): void {
    for (const child of this.#children) killGroup(child, 'SIGKILL');
    this.#closed = true;
    this.#finish();
  }

  #finish(): void {
    process.removeListener('exit', this.#onExit);
    this.#children.clear();
    rmSync(this.dir, { recursive: true, force: true });
    if (this.#watchdog.pid !== undefined) {
      try {
        process.kill(-this.#watchdog.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
}
