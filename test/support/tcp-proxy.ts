// A TCP proxy in front of PostgreSQL (or NATS, Redis) for outage tests: `cut()` closes the listener and resets every
// open connection (the database vanishes: new connections are refused, open ones reset);
// `restore()` listens on the same port again.
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const createServer = () =>
    net.createServer((client) => {
      track(client);
      const upstream = net.connect(targetPort, targetHost);
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  const listen = (server: net.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    });
  let server: net.Server | undefined = createServer();
  const port = await listen(server, 0);
  const cut = async () => {
    const closing = server;
    server = undefined;
    const closed = closing ? new Promise<void>((resolve) => closing.close(() => resolve())) : undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };
  return {
    port,
    cut,
    async restore() {
      if (server) return;
      const next = createServer();
      await listen(next, port);
      server = next;
    },
    close: cut,
  };
}

const defaultPorts: Readonly<Record<string, number>> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'redis:': 6379,
  'nats:': 4222,
};

/** A proxy in front of the server a URL names, and the same URL pointing at the proxy. */
export async function behindProxy(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url);
  const port = Number(target.port || defaultPorts[target.protocol]);
  const proxy = await startTcpProxy(target.hostname, port);
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}
