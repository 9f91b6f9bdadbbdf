import type { AgentConfig } from '../config/load.js';
import type { Command } from './args.js';

/** What every command receives; commands never read process globals directly. */
export interface CommandContext {
  readonly command: Command;
  readonly config: AgentConfig;
  readonly extra: Readonly<Record<string, string | boolean>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Interactive input (dev: Enter runs the demo); absent when not attached. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Thrown by a command that does not exist yet: exit 3, never a fake success. */
export class NotImplementedError extends Error {
  override name = 'NotImplementedError';
}
