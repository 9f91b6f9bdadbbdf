import { type CommandContext, NotImplementedError } from '../context.js';

export default async function diag(_ctx: CommandContext): Promise<number> {
  throw new NotImplementedError('"casa-agent diag" is not implemented yet');
}
