// The Istio adapter: the same authorization flow (FlowAuthorizer, its caches,
// fail-closed rules and protocol gate) served to Istio sidecars. Each Istio
// port gets an Authorizer that resolves the sidecar's side of the Check
// (resolve.ts) — refusing Checks whose caller identity is unreadable or
// contradictory — and hands the resolution to the one FlowAuthorizer through
// `resolve`, its injectable resolver. The resolution travels in a WeakMap
// keyed by the Check's own input object, so nothing about it leaks between
// Checks and no shared contract changes.
import { type Deny, deny } from '../../policy/types.js';
import type { Authorizer, CheckOutcome } from '../authz/authorizer-port.js';
import type { CheckInput } from '../authz/check-request.js';
import { type Endpoints, resolveCilium } from '../authz/endpoints.js';
import type { WorkloadDirectory } from '../inventory/directory.js';
import type { IstioDirection, PortRole } from './direction.js';
import { PeerMetadataCodec } from './peer-metadata.js';
import { resolveIstio } from './resolve.js';

export class IstioAdapter {
  private readonly resolutions = new WeakMap<CheckInput, Endpoints>();
  private readonly codec = new PeerMetadataCodec();

  constructor(private readonly directory: WorkloadDirectory) {}

  /**
   * The FlowAuthorizer resolver: the resolution of an Istio port's Check, or
   * Cilium's mapping (both sides) for a Check that came any other way.
   */
  readonly resolve = (input: CheckInput, directory: WorkloadDirectory): Endpoints =>
    this.resolutions.get(input) ?? resolveCilium(input, directory);

  /** The Authorizer one Istio port serves: `inner` (the FlowAuthorizer) with this port's role. */
  authorizerFor(inner: Authorizer, role: PortRole): Authorizer {
    return {
      authorize: async (input: CheckInput, signal: AbortSignal): Promise<CheckOutcome> => {
        let r: ReturnType<typeof resolveIstio>;
        try {
          r = resolveIstio(input, this.directory, role, this.codec);
        } catch {
          return refused(deny('internal_error', 'the Istio Check could not be resolved'), undefined);
        }
        if (r.kind === 'deny') return refused(r.deny, r.direction);
        this.resolutions.set(input, r.endpoints);
        try {
          const outcome = await inner.authorize(input, signal);
          // A sidecar's Check is one side; the flow's fallback for an early
          // deny counts both resolved endpoints, which here means the one side.
          return outcome.direction === 'both' ? { ...outcome, direction: r.direction } : outcome;
        } finally {
          this.resolutions.delete(input);
        }
      },
    };
  }
}

function refused(d: Deny, direction: IstioDirection | undefined): CheckOutcome {
  return { decision: d, direction: direction ?? 'none', runtimeCalls: 0 };
}
