#!/usr/bin/env node
// casa-agent: the one binary. Parses the command line, loads configuration,
// and hands over to the command; exit codes: 0 ok, 1 runtime failure,
// 2 usage or configuration error.
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../config/load.js';
import { packageRoot } from '../paths.js';
import { parseCli, UsageError } from './args.js';
import type { CommandContext } from './context.js';
import { NotImplementedError } from './context.js';
import { commandHelp, topHelp } from './help.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`casa-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.command === 'help') {
    process.stdout.write(parsed.helpFor ? commandHelp(parsed.helpFor) : topHelp(version()));
    return 0;
  }
  if (parsed.command === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  let ctx: CommandContext;
  try {
    ctx = {
      command: parsed.command,
      config: loadConfig({ flags: parsed.settings, env: process.env }),
      extra: parsed.extra,
      env: process.env,
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`casa-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  try {
    const mod = await import(`./commands/${parsed.command}.js`);
    return await (mod.default as (c: CommandContext) => Promise<number>)(ctx);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`casa-agent: ${err.message}\n`);
      return 2;
    }
    if (err instanceof NotImplementedError) {
      process.stderr.write(`casa-agent: ${err.message}\n`);
      return 3;
    }
    process.stderr.write(`casa-agent ${parsed.command}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`casa-agent: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
