// Runs the acquirer simulator as its own process. Settings come from SIMULATOR_* environment
// variables (see src/simulator/environment.ts). Once listening it logs one JSON line carrying `url`,
// which scripts and tests read to find a port picked with SIMULATOR_PORT=0. SIGINT or SIGTERM stops
// it; a second signal, or a stop slower than shutdownTimeoutMs, exits at once.
import { createLogger } from '../platform/log.ts';
import {
  readSimulatorEnvironment,
  SimulatorEnvironmentError,
  type SimulatorEnvironment,
} from '../simulator/environment.ts';
import { startSimulator } from '../simulator/index.ts';

const shutdownTimeoutMs = 10_000;

function readEnvironmentOrExit(): SimulatorEnvironment {
  try {
    return readSimulatorEnvironment(process.env);
  } catch (error) {
    if (!(error instanceof SimulatorEnvironmentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const environment = readEnvironmentOrExit();
  const logger = createLogger({ level: environment.logLevel, name: 'simulator' });
  const simulator = await startSimulator({ ...environment.options, logger });
  const { latencyMs, failureRate, slowResponseMs, notifyUrl } = environment.options;
  logger.info(
    { url: simulator.url, port: simulator.port, latencyMs, failureRate, slowResponseMs, notifyUrl },
    'simulator listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'simulator stopping');
    setTimeout(() => process.exit(1), shutdownTimeoutMs).unref();
    simulator.close().then(
      () => {
        logger.info('simulator stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'simulator stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
