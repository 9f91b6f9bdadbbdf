// `casa-agent render`: prints the Kubernetes objects that attach the data plane
// to the agent, from MultiAgentSystem (and Service) manifests. The Helm chart's
// copy of the Cilium objects is made by this same code (scripts/render-chart-objects.mjs);
// with --dataplane istio it prints the EnvoyFilter (and AuthorizationPolicies)
// per MAS namespace, headed by the meshConfig extension provider.

import {
  istioSettings,
  meshConfigSnippet,
  rendererFor,
  toJsonList,
  toYamlDocuments,
} from '../../render/index.js';
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
  const istioHeader = dataplane === 'istio' ? istioMeshConfigNote(ctx.config, output) : '';

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
  if (output === 'json') {
    if (istioHeader) ctx.stderr.write(istioHeader);
    ctx.stdout.write(toJsonList(objects));
  } else {
    ctx.stdout.write(istioHeader + toYamlDocuments(objects));
  }
  return 0;
}

/**
 * Istio's meshConfig is not an object we may apply (it is istiod's whole mesh
 * configuration), so its `extensionProviders` entry is printed for the
 * operator to merge: as a YAML comment ahead of the objects, or on stderr
 * beside a JSON List.
 */
function istioMeshConfigNote(config: CommandContext['config'], output: string): string {
  const s = istioSettings(config);
  const why =
    s.attachment === 'authorizationpolicy'
      ? "Required: the AuthorizationPolicies below name this extension provider. Merge into Istio's meshConfig:"
      : "Not needed with the EnvoyFilter below. To check inbound requests through Istio's CUSTOM AuthorizationPolicy instead (--istio-attachment authorizationpolicy), merge into Istio's meshConfig:";
  const lines = [why, ...meshConfigSnippet(s).trimEnd().split('\n')];
  return output === 'json'
    ? `casa-agent render: note: ${lines.join('\n  ')}\n`
    : `${lines.map((l) => `# ${l}`).join('\n')}\n`;
}
