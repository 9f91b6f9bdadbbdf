// One entry point per data plane. `casa-agent render`, the Helm chart script
// and the in-cluster applier all go through rendererFor(), so every place that
// produces the attachment objects uses the same code.
import type { MultiAgentSystem } from '../../policy/types.js';
import type { AppServicesInput, ServiceInfo } from './app-services.js';
import { type CiliumRenderInput, renderCilium } from './cilium.js';
import type { EnvoySettingsSource } from './envoy-resources.js';
import { type IstioRenderInput, renderIstio } from './istio.js';
import type { KubernetesObject } from './kubernetes-object.js';

export type Dataplane = 'cilium' | 'istio';

/** What every renderer takes; a data plane may read more (CiliumRenderInput). */
export interface RenderInput {
  readonly config: EnvoySettingsSource & { readonly agentNamespace?: string };
  readonly multiAgentSystems: readonly MultiAgentSystem[];
  readonly services?: readonly ServiceInfo[];
  readonly clusterDomain?: AppServicesInput['clusterDomain'];
  readonly warn?: (message: string) => void;
}

export type Renderer = (input: RenderInput) => KubernetesObject[];

/** Renderers by data plane. */
const RENDERERS: Readonly<Partial<Record<Dataplane, Renderer>>> = {
  cilium: (input: CiliumRenderInput) => renderCilium(input),
  istio: (input: IstioRenderInput) => renderIstio(input),
};

/** The renderer of a data plane, or undefined when that one is not built yet. */
export function rendererFor(dataplane: Dataplane): Renderer | undefined {
  return RENDERERS[dataplane];
}

export type { AppServicePort, ServiceInfo } from './app-services.js';
export { appServicePorts, parseServiceHost } from './app-services.js';
export type { CiliumRenderInput } from './cilium.js';
export { renderCilium } from './cilium.js';
export type { EnvoyJson, EnvoySettings } from './envoy-resources.js';
export { envoySettings } from './envoy-resources.js';
export type { L7lbService } from './envoy-routes.js';
export { egressRouteConfiguration, l7lbRouteConfiguration } from './envoy-routes.js';
export type {
  IstioAttachment,
  IstioRenderInput,
  IstioSettings,
  IstioSettingsSource,
} from './istio.js';
export {
  ISTIO_OBJECTS,
  istioSettings,
  meshConfigProvider,
  meshConfigSnippet,
  renderIstio,
} from './istio.js';
export type { KubernetesObject } from './kubernetes-object.js';
export { toJsonList, toYamlDocuments } from './kubernetes-object.js';
export { CILIUM_OBJECTS, SERVED_NAMES } from './names.js';
export type { ProtocolGateInput } from './protocol-gate.js';
export { egressGateConfig, l7lbGateConfig, protocolGateConfigs } from './protocol-gate.js';
export type { ServedResources, ServedResourcesInput } from './served-resources.js';
export { EXTENSION_CONFIG_TYPE_URL, ROUTE_TYPE_URL, servedResources } from './served-resources.js';
