import { type CommandContext, NotImplementedError } from '../context.js';

export default async function run(_ctx: CommandContext): Promise<number> {
  throw new NotImplementedError('"casa-agent run" is not implemented yet');
}
