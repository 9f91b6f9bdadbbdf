// `casa-agent render`: prints the Kubernetes objects that attach the data plane
// to the agent, from MultiAgentSystem (and Service) manifests. The Helm chart's
// copy of the Cilium objects is made by this same code (scripts/render-chart-objects.mjs).

import { rendererFor, toJsonList, toYamlDocuments } from '../../render/index.js';
import { ManifestError, manifestFiles, readManifests } from '../../render/manifests.js';
import { UsageError } from '../args.js';
import { type CommandContext, NotImplementedError } from '../context.js';

export default async function render(ctx: CommandContext): Promise<number> {
  const output = String(ctx.extra.output ?? 'yaml');
  if (output !== 'yaml' && output !== 'json') {
    throw new UsageError(`--output must be yaml or json, got ${JSON.stringify(output)}`);
  }
  const dataplane = ctx.config.dataplane;
  if (dataplane === 'auto') {
    throw new UsageError('render needs a concrete data plane: --dataplane cilium or --dataplane istio');
  }
  const renderer = rendererFor(dataplane);
  if (!renderer) throw new NotImplementedError(`render --dataplane ${dataplane} is not implemented yet`);

  const mas = typeof ctx.extra.mas === 'string' ? ctx.extra.mas : undefined;
  let files: string[];
  if (mas) {
    files = mas
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  } else if (ctx.config.manifests) {
    files = manifestFiles(ctx.config.manifests);
  } else {
    throw new UsageError('render reads MultiAgentSystems from --mas FILE[,FILE...] or --manifests DIR');
  }
  let manifests: ReturnType<typeof readManifests>;
  try {
    manifests = readManifests(files);
  } catch (err) {
    if (err instanceof ManifestError) {
      ctx.stderr.write(`casa-agent render: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (manifests.multiAgentSystems.length === 0) {
    ctx.stderr.write(`casa-agent render: warning: no MultiAgentSystem in ${files.join(', ')}\n`);
  }
  const objects = renderer({
    config: ctx.config,
    multiAgentSystems: manifests.multiAgentSystems,
    // Services narrow the redirect to ports that exist; without any, they are derived from app hosts.
    services: manifests.services.length > 0 ? manifests.services : undefined,
    warn: (m) => ctx.stderr.write(`casa-agent render: warning: ${m}\n`),
  });
  ctx.stdout.write(output === 'json' ? toJsonList(objects) : toYamlDocuments(objects));
  return 0;
}
