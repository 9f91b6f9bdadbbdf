import { type CommandContext, NotImplementedError } from '../context.js';

export default async function dev(_ctx: CommandContext): Promise<number> {
  throw new NotImplementedError('"casa-agent dev" is not implemented yet');
}
