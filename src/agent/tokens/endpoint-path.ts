// Configurable runtime endpoint paths (`runtimeTokenPath` etc.) with
// `{placeholder}` segments, joined onto the runtime's base URL. Checked once at
// construction so a typo fails at start-up, naming the setting.

export class EndpointPath {
  readonly #base: URL;
  readonly #template: string;

  /**
   * @param setting the configuration key, for error messages
   * @param placeholders the names `{…}` may use in this template
   */
  constructor(base: URL, template: string, setting: string, placeholders: readonly string[]) {
    if (!template.startsWith('/')) {
      throw new RangeError(`${setting}: expected a path starting with "/", got ${JSON.stringify(template)}`);
    }
    if (/[?#]/.test(template)) {
      throw new RangeError(`${setting}: a path must not carry a query or fragment`);
    }
    for (const m of template.matchAll(/\{([^}]*)\}/g)) {
      if (!placeholders.includes(m[1] ?? '')) {
        const allowed = placeholders.length ? placeholders.map((p) => `{${p}}`).join(', ') : 'none';
        throw new RangeError(`${setting}: unknown placeholder {${m[1]}} (allowed: ${allowed})`);
      }
    }
    this.#base = base;
    this.#template = template;
  }

  /** The URL with each placeholder replaced by its percent-encoded value. */
  url(values: Readonly<Record<string, string>> = {}): URL {
    const path = this.#template.replace(/\{([^}]*)\}/g, (_, name: string) => {
      const v = values[name];
      if (v === undefined || v.length === 0) throw new RangeError(`no value for {${name}}`);
      return encodeURIComponent(v);
    });
    // A base URL may carry a path prefix (a runtime behind an ingress at /casa).
    const prefix = this.#base.pathname.replace(/\/+$/, '');
    return new URL(prefix + path, this.#base.origin);
  }
}

/** Parses a runtime base URL: http(s), no query, no credentials. */
export function runtimeBaseUrl(raw: string, setting = 'runtimeUrl'): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RangeError(`${setting}: not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RangeError(`${setting}: expected an http or https URL, got ${u.protocol}`);
  }
  if (u.username || u.password) throw new RangeError(`${setting}: must not carry credentials`);
  if (u.search || u.hash) throw new RangeError(`${setting}: must not carry a query or fragment`);
  return u;
}

/** Parses a full endpoint URL (RFC 6749 §3.1: a query is allowed, a fragment is not). */
export function endpointUrl(raw: string, setting: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RangeError(`${setting}: not a URL: ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RangeError(`${setting}: expected an http or https URL, got ${u.protocol}`);
  }
  if (u.username || u.password) throw new RangeError(`${setting}: must not carry credentials`);
  if (u.hash) throw new RangeError(`${setting}: must not carry a fragment`);
  return u;
}
