// The acquirer a PayFlow process talks to, the app's decision: ACQUIRER_URL when set, or else the
// acquirer simulator started inside this process (on SIMULATOR_PORT, a free port when 0/unset), with a
// notification secret shared with the payments module. A vault process talks to no acquirer.
import { randomBytes } from 'node:crypto';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/log.ts';
import type { AcquirerEndpoint } from '../platform/module.ts';
import { OneLinePerRequest } from '../platform/http/request-logging.ts';
import { startSimulator } from '../simulator/index.ts';

/** Whether this start runs the simulator in-process (checked before any side effect, and used to start it). */
export function simulatorStarts(config: Config, role: string): boolean {
  return role !== 'vault' && !config.acquirerUrl;
}

export interface ProcessAcquirer {
  readonly endpoint: AcquirerEndpoint;
  close(): Promise<void>;
}

export async function startAcquirer(
  config: Config,
  role: string,
  log: Logger,
): Promise<ProcessAcquirer | undefined> {
  if (role === 'vault') return undefined;
  if (!simulatorStarts(config, role)) {
    const url = config.acquirerUrl!.replace(/\/+$/, '');
    return { endpoint: { url, notifySecret: config.acquirerNotifySecret }, close: async () => undefined };
  }
  const notifySecret = config.acquirerNotifySecret ?? randomBytes(32).toString('base64');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const payflowUrl =
    config.publicBaseUrl ?? (config.port === 0 ? undefined : `http://${host}:${config.port}`);
  const simulator = await startSimulator({
    port: config.simulatorPort,
    host: '127.0.0.1',
    notifySecret,
    logger: log.child({ component: 'acquirer-simulator' }),
    // One line per request at info, as PayFlow's own API (ADR 18): it runs on PayFlow's CPU.
    requestLogController: new OneLinePerRequest(),
    ...(payflowUrl !== undefined && {
      notifyUrl: `${payflowUrl.replace(/\/+$/, '')}/internal/acquirer/notifications`,
    }),
  });
  log.info({ url: simulator.url }, 'acquirer simulator listening');
  return { endpoint: { url: simulator.url, notifySecret }, close: () => simulator.close() };
}
