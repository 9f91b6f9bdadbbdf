// Flags shared by the Check benchmarks: `--flag value` pairs, positive integers,
// and a `--duration` bounded by the 30 s introspection cache (a longer run would
// measure refreshes, not cache hits).

export interface BenchArgs {
  /** The value after `flag`, if given. */
  get(flag: string): string | undefined;
  /** A positive integer flag, else `dflt`. */
  int(flag: string, dflt: number): number;
  /** `--duration` (e.g. `4s`, `500ms`) in ms, at most 25 s. */
  durationMs(dflt: string): number;
}

export function benchArgs(argv: readonly string[]): BenchArgs {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    get,
    int(flag, dflt) {
      const v = get(flag);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
      return n;
    },
    durationMs(dflt) {
      const d = get('--duration') ?? dflt;
      const m = /^(\d+)(ms|s)$/.exec(d);
      if (!m) throw new Error(`--duration: expected e.g. 10s or 500ms, got ${d}`);
      const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
      if (ms > 25_000) throw new Error('--duration: at most 25s (the introspection cache lives 30 s)');
      return ms;
    },
  };
}
