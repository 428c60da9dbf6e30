// For tests that run their own nats-server: where the binary is (undefined when it is not installed:
// those tests skip) and free local ports to start it on.
import { existsSync } from 'node:fs';

export const natsServer = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
].find((candidate) => existsSync(candidate));
