// The plain shape of a rendered Kubernetes object and its two print forms.
// Renderers build objects in a fixed key order and sort every list, so the same
// input prints the same bytes (server-side apply then sees no change).
import { stringify } from 'yaml';

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: unknown;
}

/** Labels on everything casa-node-agent renders (selectable for pruning). */
export const RENDERED_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/component': 'dataplane-attachment',
  'app.kubernetes.io/part-of': 'casa-node-agent',
};

/** Multi-document YAML, one `---` separated document per object. */
export function toYamlDocuments(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}

/** A `v1` `List`, the JSON form kubectl prints and reads. */
export function toJsonList(objects: readonly KubernetesObject[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
}
