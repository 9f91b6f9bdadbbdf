// The runtime's id of a MAS app: the `{app_id}` of `/{app_id}/oauth2/token`
// and the prefix of its credentials Secret `<app-id>-oauth2-credentials`.
//
// In the shipped CASA the runtime makes it a UUID when the operator registers
// the MAS, and the MAS object never records it (its status has no field for
// it); the operator names the Secret `<uuid>-oauth2-credentials` and labels it
// only `casa.io/mas-name=<mas>` (casa-research.md §2.1). Nothing in the cluster
// says which app a UUID belongs to, so the agent reads it from one label:
//
//   1. a credentials Secret in the MAS's namespace labelled
//      `casa.io/mas-name=<MAS metadata.name>` and `casa.io/app-name=<app name>`
//      gives the id (its name without the suffix); when several do, the first
//      by name wins and a warning says so;
//   2. otherwise the app id is the app name, so `<app name>-oauth2-credentials`
//      is the Secret read (what a hand-made setup or the dev runtime uses).
//
// A wrong id fails closed: the runtime refuses `/{app_id}/oauth2/token`.
import type { AppSpec, MultiAgentSystem } from '../../policy/types.js';
import type { SecretRecord } from './objects.js';

export interface AppIdChoice {
  readonly appId: string;
  readonly from: 'secret-label' | 'app-name';
  /** Set when several Secrets claim the app. */
  readonly warning?: string;
}

/** Credentials Secrets by `namespace/mas-name/app-name`, from their labels, sorted by name. */
export function labelledSecrets(secrets: Iterable<SecretRecord>): Map<string, SecretRecord[]> {
  const out = new Map<string, SecretRecord[]>();
  for (const s of secrets) {
    if (!s.masName || !s.appName) continue;
    const k = `${s.namespace}/${s.masName}/${s.appName}`;
    const list = out.get(k);
    if (list) list.push(s);
    else out.set(k, [s]);
  }
  for (const list of out.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

export function resolveAppId(
  mas: MultiAgentSystem,
  app: AppSpec,
  labelled: ReadonlyMap<string, readonly SecretRecord[]>,
): AppIdChoice {
  const claims = labelled.get(`${mas.ref.namespace}/${mas.ref.name}/${app.name}`) ?? [];
  const first = claims[0];
  if (!first) return { appId: app.name, from: 'app-name' };
  if (claims.length === 1) return { appId: first.appId, from: 'secret-label' };
  return {
    appId: first.appId,
    from: 'secret-label',
    warning: `app ${mas.ref.namespace}/${mas.ref.name}/${app.name}: Secrets ${claims.map((s) => s.name).join(', ')} all claim it; using ${first.name}`,
  };
}
