// A real @grpc/grpc-js backend for the xDS client tests: one unary method,
// /casa.test.Backend/Who, that answers with the backend's name — so a test
// can tell which endpoint an `xds:///` call landed on. Plain-bytes
// serializers: no proto needed for a test service.
import * as grpc from '@grpc/grpc-js';

const text = {
  serialize: (v: string) => Buffer.from(v, 'utf8'),
  deserialize: (b: Buffer) => b.toString('utf8'),
};

export const WHO_SERVICE = {
  Who: {
    path: '/casa.test.Backend/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: text.serialize,
    requestDeserialize: text.deserialize,
    responseSerialize: text.serialize,
    responseDeserialize: text.deserialize,
  },
} satisfies grpc.ServiceDefinition;

export interface Backend {
  readonly name: string;
  readonly port: number;
  calls: number;
  close(): Promise<void>;
}

export async function startBackend(name: string): Promise<Backend> {
  const server = new grpc.Server();
  const backend = {
    name,
    port: 0,
    calls: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
  server.addService(WHO_SERVICE, {
    Who: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      backend.calls++;
      cb(null, name);
    },
  });
  backend.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return backend;
}
