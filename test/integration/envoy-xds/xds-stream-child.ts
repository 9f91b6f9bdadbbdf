// Child process that opens many xDS streams (half SotW, half delta) to the
// server at argv[2], waits for each one's first response, reports "ready"
// over IPC and then idles until the parent kills it (SIGKILL: the streams
// vanish without a goodbye, as when an Envoy crashes).
import { TYPE_URL } from '../../../src/envoy-xds/discovery.js';
import { RawXdsClient } from './raw-xds-client.js';

const [, , target = '', countText = '100', nodeId = 'crashing-envoy'] = process.argv;
const count = Number(countText);
const channels = Array.from(
  { length: 4 },
  () => new RawXdsClient(target, { 'grpc.use_local_subchannel_pool': 1 }),
);

async function main(): Promise<void> {
  const firsts: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const client = channels[i % channels.length] as RawXdsClient;
    if (i % 2 === 0) {
      const call = client.sotw();
      call.send({ node: { id: nodeId }, type_url: TYPE_URL.cluster });
      firsts.push(call.next(20_000));
    } else {
      const call = client.delta();
      call.send({ node: { id: nodeId }, type_url: TYPE_URL.cluster });
      firsts.push(call.next(20_000));
    }
  }
  await Promise.all(firsts);
  process.send?.({ ready: count });
  setInterval(() => {}, 60_000);
}

main().catch((err) => {
  process.send?.({ error: String(err) });
  process.exit(1);
});
