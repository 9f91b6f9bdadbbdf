// Splits argv into a subcommand, setting flags (from the settings table) and
// command-specific flags, with errors that name the offending flag.
import { parseArgs } from 'node:util';
import { flagName, SETTINGS } from '../config/settings.js';

export const COMMANDS = ['run', 'dev', 'render', 'diag'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ExtraFlag {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly help: string;
  readonly default?: string;
}

/** Flags that are not settings: they only shape one command's output. */
export const EXTRA_FLAGS: Record<Command, readonly ExtraFlag[]> = {
  run: [],
  dev: [
    {
      name: 'port-base',
      type: 'string',
      help: 'first of the 9 loopback ports dev listens on (runtime, ext_authz, xDS, diagnostics, data plane, apps; 0 = free ports)',
      default: '18080',
    },
    { name: 'print-spans', type: 'boolean', help: 'print decision spans to the console' },
    {
      name: 'demo',
      type: 'boolean',
      help: 'run the demo (README "Demo") against a fresh dev world, print it, stop, exit 0 when every step held',
    },
    {
      name: 'demo-wait',
      type: 'boolean',
      help: 'demo: really wait 31 s for the introspection cache to expire (default: move the dev clock)',
    },
  ],
  render: [
    { name: 'output', type: 'string', help: 'yaml or json', default: 'yaml' },
    {
      name: 'mas',
      type: 'string',
      help: 'MultiAgentSystem YAML file(s), comma-separated (default: from --manifests)',
    },
  ],
  diag: [
    {
      name: 'url',
      type: 'string',
      help: 'diagnostics base URL of the agent',
      default: 'http://127.0.0.1:9193',
    },
    { name: 'json', type: 'boolean', help: 'print the raw JSON' },
  ],
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  readonly command: Command | 'help' | 'version';
  readonly helpFor?: Command;
  readonly settings: Record<string, string>;
  readonly extra: Record<string, string | boolean>;
}

function kebab(key: string): string {
  return flagName(key).slice(2);
}

export function parseCli(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    const sub = argv[1];
    return {
      command: 'help',
      helpFor: (COMMANDS as readonly string[]).includes(sub ?? '') ? (sub as Command) : undefined,
      settings: {},
      extra: {},
    };
  }
  if (first === '--version' || first === 'version') return { command: 'version', settings: {}, extra: {} };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new UsageError(
      `unknown command "${first}" (commands: ${COMMANDS.join(', ')}; see casa-agent --help)`,
    );
  }
  const command = first as Command;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of SETTINGS) options[kebab(s.key)] = { type: 'string' };
  for (const e of EXTRA_FLAGS[command]) options[e.name] = { type: e.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv.slice(1), options, strict: true, allowPositionals: false }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see casa-agent ${command} --help)`);
  }
  if (values.help) return { command: 'help', helpFor: command, settings: {}, extra: {} };
  const settings: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = values[kebab(s.key)];
    if (typeof v === 'string') settings[s.key] = v;
  }
  const extra: Record<string, string | boolean> = {};
  for (const e of EXTRA_FLAGS[command]) {
    const v = values[e.name] ?? (e.type === 'string' ? e.default : undefined);
    if (v !== undefined) extra[e.name] = v;
  }
  return { command, settings, extra };
}
