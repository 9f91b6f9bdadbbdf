// The reference runtime's apps, registered from MultiAgentSystems the way
// the shipped runtime registers them (casa-research.md §2.1): each app gets a
// UUID app_id (unless given), an OAuth client_id that is the URL
// `{runtime}/{app_id}/oauth2/client-metadata.json`, and a secret. The
// credentials are what CASA's operator writes into the Secret
// `<app_id>-oauth2-credentials`.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AppCredentials, AppType, MultiAgentSystem } from '../../../policy/types.js';

export interface RuntimeApp {
  readonly appId: string;
  readonly masId: string;
  readonly namespace: string;
  readonly masName: string;
  readonly name: string;
  readonly type: AppType;
  /** `baseUrl.host` (CASA's url_host), when the app has one. */
  readonly urlHost?: string;
  readonly urlScheme?: 'http' | 'https';
  readonly promptFieldJsonPath?: string;
  readonly kubernetesWorkloadName?: string;
  readonly llmHost?: string;
  readonly credentials: AppCredentials;
  readonly secretName: string;
}

export interface RegisterMasOptions {
  /** The MAS id (default: a UUID, as CASA's database assigns). */
  readonly masId?: string;
  /** app name → app_id (default: a UUID per app). */
  readonly appIds?: Readonly<Record<string, string>>;
  /** app name → client secret (default: 32 random bytes, base64url). */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** A Kubernetes Secret as CASA's operator creates it, for a file inventory or a cluster. */
export interface CredentialsSecret {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly type: 'Opaque';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  readonly stringData: { readonly client_id: string; readonly client_secret: string };
}

const APP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class AppRegistry {
  readonly #byId = new Map<string, RuntimeApp>();
  readonly #publicUrl: () => string;

  /** `publicUrl` is the runtime's base URL, the prefix of every client_id. */
  constructor(publicUrl: () => string) {
    this.#publicUrl = publicUrl;
  }

  registerMas(mas: MultiAgentSystem, opts: RegisterMasOptions = {}): RuntimeApp[] {
    const masId = opts.masId ?? randomUUID();
    const out: RuntimeApp[] = [];
    for (const spec of mas.apps) {
      const appId = opts.appIds?.[spec.name] ?? randomUUID();
      if (!APP_ID.test(appId)) {
        throw new RangeError(
          `app ${spec.name}: app_id ${JSON.stringify(appId)} is not a path-safe identifier`,
        );
      }
      const existing = this.#byId.get(appId);
      if (existing && (existing.namespace !== mas.ref.namespace || existing.name !== spec.name)) {
        throw new RangeError(
          `app_id ${appId} is already registered for ${existing.namespace}/${existing.name}`,
        );
      }
      const app: RuntimeApp = {
        appId,
        masId,
        namespace: mas.ref.namespace,
        masName: mas.ref.name,
        name: spec.name,
        type: spec.type,
        urlHost: spec.baseUrl?.host,
        urlScheme: spec.baseUrl?.scheme,
        promptFieldJsonPath: spec.promptFieldJsonPath,
        kubernetesWorkloadName: spec.kubernetesWorkloadName,
        llmHost: mas.llmHost,
        credentials: {
          clientId: `${this.#publicUrl()}/${appId}/oauth2/client-metadata.json`,
          clientSecret: opts.secrets?.[spec.name] ?? randomBytes(32).toString('base64url'),
        },
        secretName: `${appId}-oauth2-credentials`,
      };
      this.#byId.set(appId, app);
      out.push(app);
    }
    return out;
  }

  get(appId: string): RuntimeApp | undefined {
    return this.#byId.get(appId);
  }

  /** The app a client_id or `sub` URL names: its first path segment (CASA's `_get_app_id_from_client_id`). */
  byClientId(clientId: string): RuntimeApp | undefined {
    let path: string;
    try {
      path = new URL(clientId).pathname;
    } catch {
      return undefined;
    }
    const first = path.split('/').find((s) => s.length > 0);
    return first ? this.#byId.get(decodeURIComponent(first)) : undefined;
  }

  byHost(namespace: string, host: string): RuntimeApp[] {
    const h = host.toLowerCase();
    return this.all().filter((a) => a.namespace === namespace && a.urlHost?.toLowerCase() === h);
  }

  all(): RuntimeApp[] {
    return [...this.#byId.values()];
  }

  /**
   * The Secret CASA's operator writes for `app`, plus the label
   * `casa.io/app-name` through which the agent's inventory maps a UUID app_id
   * to its app (src/agent/inventory/app-id.ts).
   */
  static secretFor(app: RuntimeApp): CredentialsSecret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: app.secretName,
        namespace: app.namespace,
        labels: {
          'app.kubernetes.io/managed-by': 'casa-operator',
          'casa.io/mas-name': app.masName,
          'casa.io/app-name': app.name,
        },
      },
      stringData: { client_id: app.credentials.clientId, client_secret: app.credentials.clientSecret },
    };
  }
}
