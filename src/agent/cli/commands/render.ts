import { type CommandContext, NotImplementedError } from '../context.js';

export default async function render(_ctx: CommandContext): Promise<number> {
  throw new NotImplementedError('"casa-agent render" is not implemented yet');
}
