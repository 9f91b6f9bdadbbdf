// Loads AgentConfig from (highest first) flags, CASA_* variables, the YAML
// config file, and the defaults in settings.ts. Every bad value is reported
// with the field, where it came from, and what was expected.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { envName, flagName, SETTINGS, type SettingSpec } from './settings.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface AgentConfig {
  readonly config?: string;
  readonly nodeName?: string;
  readonly inventory: 'kubernetes' | 'file';
  readonly manifests?: string;
  readonly kubeconfig?: string;
  readonly dataplane: 'cilium' | 'istio' | 'auto';
  readonly runtimeUrl?: string;
  readonly runtimeProfile: 'casa' | 'rfc';
  readonly runtimeTimeout: number;
  readonly runtimeConcurrency: number;
  readonly runtimeQueue: number;
  readonly runtimeTokenPath: string;
  readonly runtimeExchangePath: string;
  readonly runtimeIntrospectPath: string;
  readonly runtimeSharedCache: boolean;
  readonly rfcIntrospectionEndpoint?: string;
  readonly rfcTokenEndpoint?: string;
  readonly rfcClientId?: string;
  readonly rfcClientSecret?: string;
  readonly authzListen: HostPort;
  readonly xdsListen: HostPort;
  readonly diagListen: HostPort;
  readonly istioInboundListen: HostPort;
  readonly istioOutboundListen: HostPort;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly requireTraceContext: boolean;
  readonly introspectionTtl: number;
  readonly negativeTtl: number;
  readonly exchangeSkew: number;
  readonly cacheMaxEntries: number;
  readonly cacheMaxBytes: number;
  readonly traceTtl: number;
  readonly maxRequestBytes: number;
  readonly checkTimeout: number;
  readonly drainTimeout: number;
  readonly decisionLog: number;
  readonly otlpEndpoint?: string;
  /**
   * The endpoint came from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: over
   * http/protobuf it is the full traces URL, used as is (no `/v1/traces`
   * appended), as the OTLP exporter spec says of signal-specific endpoints.
   */
  readonly otlpTracesUrl?: boolean;
  readonly otlpProtocol: 'grpc' | 'http/protobuf';
  readonly applyClusterObjects: boolean;
  readonly applyLeaseDuration: number;
  readonly applyRenewDeadline: number;
  readonly applyRetryPeriod: number;
  readonly applyResync: number;
  readonly agentNamespace: string;
  readonly podName?: string;
  /** Config-file-only: protocol pattern overrides (parsed by the policy module). */
  readonly protocols?: unknown;
}

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid configuration: ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Keys a config file may hold besides the settings table. */
const FILE_ONLY_KEYS = new Set(['protocols']);

type Raw = { value: unknown; origin: string };

export interface LoadInput {
  /** Flag values already split by the CLI: key (camelCase) → string. */
  readonly flags: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For tests: config-file contents instead of reading `config`. */
  readonly fileText?: string;
}

export function loadConfig(input: LoadInput): AgentConfig {
  const configPath = input.flags.config ?? input.env[envName('config')];
  let file: Record<string, unknown> = {};
  if (input.fileText !== undefined || configPath) {
    file = readConfigFile(configPath ?? '<inline>', input.fileText);
  }
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const raw = pick(spec, input, file);
    if (raw === undefined) continue;
    out[spec.key] = parseValue(spec, raw);
  }
  if (file.protocols !== undefined) out.protocols = file.protocols;
  otelExporterVariables(input, file, out);
  return out as unknown as AgentConfig;
}

/**
 * OpenTelemetry's standard exporter variables, below every source of ours
 * (flag, CASA_* variable, config file), signal-specific before generic, as
 * the OTLP exporter spec orders them: an operator who already points every
 * service at a collector with OTEL_EXPORTER_OTLP_* gets the agent's spans
 * there too. OTEL_SERVICE_NAME and the OTEL_BSP_* tuning are read where the
 * spans are made (src/agent/telemetry).
 */
function otelExporterVariables(
  input: LoadInput,
  file: Record<string, unknown>,
  out: Record<string, unknown>,
) {
  const env = input.env;
  const ours = (key: string) =>
    input.flags[key] !== undefined ||
    (env[envName(key)] ?? '') !== '' ||
    (file[key] !== undefined && file[key] !== null);
  if (!ours('otlpEndpoint')) {
    for (const name of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const) {
      const value = env[name]?.trim();
      if (!value) continue;
      out.otlpEndpoint = parseValue(specOf('otlpEndpoint'), { value, origin: name });
      if (name === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') out.otlpTracesUrl = true;
      break;
    }
  }
  if (!ours('otlpProtocol')) {
    for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
      const value = env[name]?.trim();
      if (!value) continue;
      out.otlpProtocol = parseValue(specOf('otlpProtocol'), { value, origin: name });
      break;
    }
  }
}

function specOf(key: string): SettingSpec {
  const s = SETTINGS.find((x) => x.key === key);
  if (!s) throw new Error(`no setting ${key}`);
  return s;
}

function readConfigFile(path: string, text?: string): Record<string, unknown> {
  let body = text;
  if (body === undefined) {
    try {
      body = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError('config', `cannot read ${path}: ${(err as Error).message}`);
    }
  }
  let doc: unknown;
  try {
    doc = parseYaml(body);
  } catch (err) {
    throw new ConfigError('config', `${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('config', `${path} must hold a YAML mapping of settings`);
  }
  const known = new Set(SETTINGS.map((s) => s.key));
  for (const k of Object.keys(doc)) {
    if (!known.has(k) && !FILE_ONLY_KEYS.has(k)) {
      throw new ConfigError(
        k,
        `unknown key in ${path} (known: ${[...known, ...FILE_ONLY_KEYS].sort().join(', ')})`,
      );
    }
  }
  return doc as Record<string, unknown>;
}

function pick(spec: SettingSpec, input: LoadInput, file: Record<string, unknown>): Raw | undefined {
  const flag = input.flags[spec.key];
  if (flag !== undefined) return { value: flag, origin: flagName(spec.key) };
  const env = input.env[envName(spec.key)];
  if (env !== undefined && env !== '') return { value: env, origin: envName(spec.key) };
  if (file[spec.key] !== undefined && file[spec.key] !== null) {
    return { value: file[spec.key], origin: `config file key ${spec.key}` };
  }
  if (spec.default !== undefined) return { value: spec.default, origin: 'default' };
  return undefined;
}

function parseValue(spec: SettingSpec, raw: Raw): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(spec.key, `${why} (from ${raw.origin}: ${JSON.stringify(raw.value)})`);
  };
  const v = raw.value;
  switch (spec.kind) {
    case 'string': {
      if (typeof v !== 'string' || v.length === 0) fail('expected a non-empty string');
      return v;
    }
    case 'enum': {
      if (typeof v !== 'string' || !spec.values?.includes(v))
        fail(`expected one of ${spec.values?.join(', ')}`);
      return v;
    }
    case 'bool': {
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === '1' || v === 'yes') return true;
      if (v === 'false' || v === '0' || v === 'no') return false;
      return fail('expected true or false');
    }
    case 'int': {
      const n =
        typeof v === 'number'
          ? v
          : typeof v === 'string' && /^-?\d+$/.test(v.trim())
            ? Number(v)
            : Number.NaN;
      if (!Number.isSafeInteger(n)) fail('expected an integer');
      bounds(spec, n, fail, String);
      return n;
    }
    case 'duration': {
      const ms = parseDuration(v);
      if (ms === undefined) fail('expected a duration such as 250ms, 2s, 5m (or milliseconds as a number)');
      bounds(spec, ms as number, fail, (n) => `${n}ms`);
      return ms;
    }
    case 'hostport': {
      if (typeof v !== 'string') return fail('expected HOST:PORT');
      const hp = parseHostPort(v);
      if (!hp) fail('expected HOST:PORT with a port from 0 to 65535 (IPv6 as [::1]:PORT)');
      return hp;
    }
    case 'url': {
      if (typeof v !== 'string') return fail('expected an http(s) URL');
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        return fail('expected an absolute URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:' && spec.key !== 'otlpEndpoint') {
        fail('expected an http or https URL');
      }
      return v.replace(/\/+$/, '');
    }
    case 'list': {
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
      if (typeof v === 'string')
        return v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      return fail('expected a comma-separated list');
    }
  }
}

function bounds(
  spec: SettingSpec,
  n: number,
  fail: (why: string) => never,
  fmt: (n: number) => string,
): void {
  if (spec.min !== undefined && n < spec.min) fail(`must be at least ${fmt(spec.min)}`);
  if (spec.max !== undefined && n > spec.max) fail(`must be at most ${fmt(spec.max)}`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `250ms`, `2s`, `1.5s`, `5m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]) * (DURATION_UNITS[m[2] ?? 'ms'] ?? 1);
  return Number.isFinite(n) ? Math.round(n) : undefined;
}

export function parseHostPort(v: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
