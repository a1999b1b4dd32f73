/**
 * A connection-level (L4) balancer like a Kubernetes ClusterIP Service: each new TCP connection goes to the next
 * backend in turn, and every byte of it stays there. It counts connections so tests can see reconnects.
 */
import * as net from 'node:net';

export interface TcpBalancer {
  port: number;
  connections: number;
  close(): Promise<void>;
}

export async function startTcpBalancer(backendPorts: readonly number[]): Promise<TcpBalancer> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((downstream) => {
    const backend = backendPorts[state.connections++ % backendPorts.length];
    const upstream = net.connect(backend, '127.0.0.1');
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
