// For tests that run their own nats-server: where the binary is (undefined when it is not installed:
// those tests skip) and free local ports to start it on.
import { existsSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';

export const natsServer = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
].find((candidate) => existsSync(candidate));

/** A local TCP port nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
