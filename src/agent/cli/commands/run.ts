// `casa-agent run`: the node agent daemon. Exits 2 on configuration errors
// (naming the field), drains in-flight Checks on SIGTERM/SIGINT.
import { ConfigError } from '../../config/load.js';
import { createLogger } from '../../log.js';
import { NodeAgent } from '../../node-agent.js';
import type { CommandContext } from '../context.js';

export default async function run(ctx: CommandContext): Promise<number> {
  const cfg = ctx.config;
  if (cfg.inventory === 'kubernetes' && !cfg.nodeName) {
    throw new ConfigError(
      'nodeName',
      'required with --inventory kubernetes (set it from spec.nodeName via the downward API)',
    );
  }
  if (cfg.inventory === 'file' && !cfg.manifests) {
    throw new ConfigError('manifests', 'required with --inventory file');
  }
  if (!cfg.runtimeUrl) throw new ConfigError('runtimeUrl', 'required: the base URL of the CASA runtime');
  if (cfg.runtimeProfile === 'rfc' && (!cfg.rfcClientId || !cfg.rfcClientSecret)) {
    throw new ConfigError(
      'rfcClientId',
      "the rfc profile needs the agent's own client id and secret for introspection",
    );
  }
  const log = createLogger(cfg.logLevel);
  const agent = new NodeAgent({ config: cfg, log });
  await agent.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ component: 'agent', signal }, 'stopping: draining in-flight checks');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      agent.stop().then(resolve, (err: unknown) => {
        log.error({ component: 'agent', err }, 'shutdown failed');
        resolve();
      });
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  log.flush();
  return 0;
}
