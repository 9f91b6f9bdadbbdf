// Child process for the grpc-js-xds tests. @grpc/grpc-js-xds reads its
// bootstrap (GRPC_XDS_BOOTSTRAP_CONFIG, set by the parent) once per process,
// so every scenario runs in a fresh one. The parent sends {id, target} over
// IPC; the child makes one real gRPC call to that `xds:///` target and
// answers {id, ok, backend} or {id, ok: false, code, details}.
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { WHO_SERVICE } from './grpc-backend.js';

interface CallRequest {
  readonly id: number;
  readonly target?: string;
  readonly deadlineMs?: number;
  readonly exit?: boolean;
}

xds.register();
const Client = grpc.makeGenericClientConstructor(WHO_SERVICE, 'Backend');
const clients = new Map<string, grpc.Client>();

function clientFor(target: string): grpc.Client {
  let c = clients.get(target);
  if (!c) {
    c = new Client(target, grpc.credentials.createInsecure());
    clients.set(target, c);
  }
  return c;
}

process.on('message', (msg: CallRequest) => {
  if (msg.exit) {
    for (const c of clients.values()) c.close();
    process.disconnect?.();
    process.exit(0);
  }
  const client = clientFor(msg.target ?? '');
  const deadline = new Date(Date.now() + (msg.deadlineMs ?? 5000));
  client.makeUnaryRequest(
    WHO_SERVICE.Who.path,
    WHO_SERVICE.Who.requestSerialize,
    WHO_SERVICE.Who.responseDeserialize,
    'who',
    new grpc.Metadata(),
    { deadline },
    (err, value) => {
      if (err) process.send?.({ id: msg.id, ok: false, code: err.code, details: err.details });
      else process.send?.({ id: msg.id, ok: true, backend: value });
    },
  );
});

process.send?.({ ready: true });
