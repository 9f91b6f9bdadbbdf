// `--inventory file`: a folder of ordinary Kubernetes YAML (or JSON) —
// Namespaces, Pods with `spec.nodeName` and `status.podIP`, MultiAgentSystems,
// Secrets, Services, EndpointSlices, ReplicaSets; multi-document files and
// `kind: List` are fine. Every scan hands the complete set to the same
// ObjectMirror the informers use, so the registry gets the same per-object
// add/update/delete events as from Kubernetes.
//
// Reloads on change: fs.watch with a debounce (editors write in bursts), and a
// periodic rescan because fs.watch misses events on some filesystems (network
// mounts, ConfigMap volumes that swap a symlink). A file that cannot be read or
// parsed is reported and the last good state of its objects is kept; an
// object that fails validation keeps its own last good state.
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import { type InventorySink, ObjectMirror } from './events.js';
import { isObj } from './fields.js';
import { type Decoded, decodeTypedObject, KINDS } from './objects.js';

export interface FileSourceOptions {
  readonly dir: string;
  readonly sink: InventorySink;
  /** Quiet time after a change before rescanning, in ms (default 100). */
  readonly debounceMs?: number;
  /** Periodic rescan in ms, for filesystems where fs.watch is unreliable (default 5000; 0 = off). */
  readonly rescanMs?: number;
  readonly log?: Logger;
}

export interface FileSourceStatus {
  readonly dir: string;
  readonly synced: boolean;
  readonly files: number;
  readonly objects: number;
  readonly scans: number;
  readonly lastScanAt?: string;
}

interface FileState {
  readonly text: string;
  readonly docs: readonly { readonly where: string; readonly value: unknown }[];
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** The documents of one file, or a message saying why it cannot be read (never a partial result). */
export function parseManifest(text: string, file: string): FileState['docs'] | string {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: { where: string; value: unknown }[] = [];
  for (let i = 0; i < list.length; i++) {
    const doc = list[i];
    if (!doc) continue;
    const where = `${file} document ${i + 1}`;
    if (doc.errors.length > 0) {
      // First line only: the rest quotes the file, which may be a Secret.
      const first = (doc.errors[0]?.message ?? 'parse error').split('\n', 1)[0]?.replace(/:$/, '');
      return `${where}: not valid YAML: ${first}`;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObj(value)) return `${where}: expected a Kubernetes object (a mapping)`;
    if (value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, j) => {
        out.push({ where: `${where} items[${j}]`, value: item });
      });
    } else out.push({ where, value });
  }
  return out;
}

export class FileSource {
  private readonly mirror: ObjectMirror;
  private readonly files = new Map<string, FileState>();
  private duplicates = new Set<string>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private scans = 0;
  private lastScanAt: Date | undefined;
  private _synced = false;

  constructor(private readonly options: FileSourceOptions) {
    this.mirror = new ObjectMirror(`file:${options.dir}`, options.sink);
  }

  get synced(): boolean {
    return this._synced;
  }

  /** Scans once (resolves when the registry holds the folder's state), then follows changes. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.rescan();
    if (this.stopped) return;
    this.follow();
    const every = this.options.rescanMs ?? 5000;
    if (every > 0) {
      this.interval = setInterval(() => void this.rescan(), every);
      this.interval.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.interval) clearInterval(this.interval);
    this.debounce = undefined;
    this.interval = undefined;
    await this.running;
  }

  status(): FileSourceStatus {
    return {
      dir: this.options.dir,
      synced: this._synced,
      files: this.files.size,
      objects: this.mirror.size,
      scans: this.scans,
      ...(this.lastScanAt ? { lastScanAt: this.lastScanAt.toISOString() } : {}),
    };
  }

  /** Reads the folder now; concurrent calls share one scan plus at most one follow-up. */
  rescan(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.scan();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private follow(): void {
    try {
      this.watcher = watch(this.options.dir, { persistent: false }, () => this.changed());
      this.watcher.on('error', (err) => {
        this.options.log?.warn(
          { err, dir: this.options.dir },
          'watching the manifests folder failed; rescanning periodically',
        );
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.options.log?.warn(
        { err, dir: this.options.dir },
        'cannot watch the manifests folder; rescanning periodically',
      );
    }
  }

  private changed(): void {
    if (this.stopped) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.rescan();
    }, this.options.debounceMs ?? 100);
    this.debounce.unref();
  }

  private async scan(): Promise<void> {
    const dir = this.options.dir;
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true }))
        .filter((d) => (d.isFile() || d.isSymbolicLink()) && MANIFEST.test(d.name) && !d.name.startsWith('.'))
        .map((d) => d.name)
        .sort();
      this.mirror.problem(dir, undefined);
    } catch (err) {
      // A missing folder is not an empty one: keep serving what we had.
      this.mirror.problem(dir, `cannot read folder: ${(err as Error).message}`);
      this.markScanned();
      return;
    }
    const seen = new Set<string>();
    for (const name of names) {
      const file = join(dir, name);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        // Vanished between readdir and read: the next scan sees it gone; until then keep it.
        if (this.files.has(file)) seen.add(file);
        this.mirror.problem(file, `cannot read: ${(err as Error).message}`);
        continue;
      }
      seen.add(file);
      if (this.files.get(file)?.text === text) {
        this.mirror.problem(file, undefined); // broken, then restored to the last good text
        continue;
      }
      const docs = parseManifest(text, file);
      if (typeof docs === 'string') {
        this.mirror.problem(file, `${docs}; keeping its last good objects`);
        continue;
      }
      this.mirror.problem(file, undefined);
      this.files.set(file, { text, docs });
    }
    for (const file of [...this.files.keys()]) {
      if (!seen.has(file)) {
        this.files.delete(file);
        this.mirror.problem(file, undefined);
      }
    }
    if (this.stopped) return;
    this.mirror.replace(KINDS, this.decodeAll());
    this.markScanned();
  }

  /** Every object of every file, files in name order; of two definitions of one object the later wins. */
  private decodeAll(): Decoded[] {
    const out = new Map<string, Decoded>();
    const origin = new Map<string, string>();
    const duplicates = new Set<string>();
    let anonymous = 0;
    for (const file of [...this.files.keys()].sort()) {
      for (const { where, value } of this.files.get(file)?.docs ?? []) {
        const d = decodeTypedObject(value);
        if (d.status === 'ignored') continue;
        if (d.status === 'invalid') {
          out.set(d.key ? `${d.kind} ${d.key}` : `#${anonymous++}`, { ...d, error: `${where}: ${d.error}` });
          continue;
        }
        const id = `${d.object.kind} ${d.object.key}`;
        const first = origin.get(id);
        if (first !== undefined) {
          duplicates.add(`duplicate ${id}`);
          this.mirror.problem(`duplicate ${id}`, `defined in ${first} and again in ${where}; using ${where}`);
        }
        origin.set(id, where);
        out.set(id, d);
      }
    }
    for (const ref of this.duplicates) if (!duplicates.has(ref)) this.mirror.problem(ref, undefined);
    this.duplicates = duplicates;
    return [...out.values()];
  }

  private markScanned(): void {
    this.scans++;
    this.lastScanAt = new Date();
    this._synced = true;
  }
}
