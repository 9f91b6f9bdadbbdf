// --help text, generated from the settings table so it cannot drift.
import { envName, flagName, SETTINGS } from '../config/settings.js';
import { COMMANDS, type Command, EXTRA_FLAGS } from './args.js';

const SUMMARY: Record<Command, string> = {
  run: 'run the node agent (ext_authz + xDS + diagnostics)',
  dev: 'run the whole CASA flow on this machine: reference runtime, agent, dev data plane, example apps',
  render: 'print the Kubernetes objects that attach Envoy to the agent (--dataplane cilium|istio)',
  diag: "print a readable summary of a running agent's diagnostics",
};

export function topHelp(version: string): string {
  const lines = [
    `casa-agent ${version} — CASA node-level authorization agent (Cilium mode, Istio fallback)`,
    '',
    'Usage: casa-agent <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.padEnd(8)} ${SUMMARY[c]}`),
    '',
    'Every setting is a flag, a CASA_* environment variable and a key of the',
    'YAML file given by --config; flags win over variables, variables over the file.',
    'Run "casa-agent <command> --help" for the flags of a command.',
  ];
  return `${lines.join('\n')}\n`;
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: casa-agent ${command} [flags]`, '', SUMMARY[command], '', 'Flags:'];
  for (const s of SETTINGS) {
    if (!s.commands.includes(command)) continue;
    const values = s.values ? ` (${s.values.join('|')})` : '';
    const def = s.default !== undefined ? ` [default: ${s.default}]` : '';
    lines.push(`  ${flagName(s.key)} <${s.kind}>`);
    lines.push(`      ${s.help}${values}${def}`);
    lines.push(`      env ${envName(s.key)}, config key ${s.key}`);
  }
  for (const e of EXTRA_FLAGS[command]) {
    const def = e.default !== undefined ? ` [default: ${e.default}]` : '';
    lines.push(`  --${e.name}${e.type === 'string' ? ' <string>' : ''}`);
    lines.push(`      ${e.help}${def}`);
  }
  lines.push('  -h, --help', '      this text');
  return `${lines.join('\n')}\n`;
}
