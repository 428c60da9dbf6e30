// Public face of the acquirer simulator: start it in-process with startSimulator, or run
// src/apps/simulator.ts as its own process. Everything else under src/simulator/ is private.
import type { AddressInfo } from 'node:net';
import type { LogController } from 'fastify';
import type { Logger } from 'pino';
import { buildSimulatorApp, noFaults, type SimulatorFaults } from './server.ts';

export type {
  AuthorizationAnswer,
  AuthorizationRequest,
  AuthorizationStatus,
  CaptureAnswer,
  CaptureRequest,
  CaptureStatus,
  CardDetails,
  ErrorAnswer,
  OperationInquiry,
  OperationKind,
  OutcomeNotification,
  PaymentMethod,
  RefundAnswer,
  RefundRequest,
  RefundStatus,
  VoidAnswer,
  VoidRequest,
  VoidStatus,
  WalletDetails,
} from './contract.ts';
export { testCards, type CardOutcome } from './test-cards.ts';
export type { SimulatorFaults } from './server.ts';

export const defaultSlowResponseMs = 30_000;
export const defaultRefundFailureDelayMs = 1_000;

export interface SimulatorOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Added to every answer. Default 0. */
  readonly latencyMs?: number;
  /** Fraction (0..1) of /v1 requests answered 503 acquirer_unavailable without recording anything. */
  readonly failureRate?: number;
  /** Where bank redirect decisions and failed refunds are POSTed. */
  readonly notifyUrl?: string;
  /** Signs notifications (Standard Webhooks `webhook-signature`) with this shared secret. */
  readonly notifySecret?: string;
  /** Default false (silent). */
  readonly logger?: false | Logger;
  /** Decides the request log lines (Fastify's `logController`); default Fastify's two lines per request. */
  readonly requestLogController?: LogController;
  /** How long the timeout cards 4000000000003220 and 4000000000003238 hold the answer. Default 30 000. */
  readonly slowResponseMs?: number;
  /** How long a refund on 4000000000005126 stays pending before it fails. Default 1 000. */
  readonly refundFailureDelayMs?: number;
  /** Base URL browsers use to reach the simulator (bank pages); default the listening URL. */
  readonly publicUrl?: string;
  /**
   * Keeps the state in this file (journal.ts) and reads it back at start: a simulator killed and
   * started again on the same file still knows every operation it answered. Default: memory only.
   */
  readonly stateFile?: string;
}

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:8090 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /**
   * Changes faults from now on, e.g. to start or end a simulated outage (a harness in another
   * process uses PUT /_simulator/faults).
   */
  configureFaults(changes: Partial<SimulatorFaults>): void;
  /** Ends pending delays (their requests answer 503), then stops listening. Safe to call twice. */
  close(): Promise<void>;
}

function assertDurations(durations: Readonly<Record<string, number | undefined>>): void {
  for (const [name, value] of Object.entries(durations)) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function assertFailureRate(failureRate: number | undefined): void {
  if (failureRate === undefined) return;
  if (!(failureRate >= 0 && failureRate <= 1))
    throw new RangeError(`failureRate must be 0..1, got ${failureRate}`);
}

function assertOptions(options: SimulatorOptions): void {
  const { port, latencyMs, failureRate, slowResponseMs, refundFailureDelayMs } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`port must be 0..65535, got ${port}`);
  assertDurations({ latencyMs, slowResponseMs, refundFailureDelayMs });
  assertFailureRate(failureRate);
}

function urlFor(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  assertOptions(options);
  const host = options.host ?? '127.0.0.1';
  let baseUrl = options.publicUrl?.replace(/\/+$/, '') ?? '';
  const faults: SimulatorFaults = {
    ...noFaults,
    latencyMs: options.latencyMs ?? 0,
    failureRate: options.failureRate ?? 0,
  };
  const simulatorApp = await buildSimulatorApp({
    faults,
    slowResponseMs: options.slowResponseMs ?? defaultSlowResponseMs,
    refundFailureDelayMs: options.refundFailureDelayMs ?? defaultRefundFailureDelayMs,
    notifyUrl: options.notifyUrl,
    notifySecret: options.notifySecret,
    logger: options.logger ?? false,
    ...(options.requestLogController && { requestLogController: options.requestLogController }),
    baseUrl: () => baseUrl,
    stateFile: options.stateFile,
  });
  const { app } = simulatorApp;
  await app.listen({ port: options.port, host });
  const port = (app.server.address() as AddressInfo).port;
  const url = urlFor(host, port);
  if (baseUrl === '') baseUrl = url;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    configureFaults(changes) {
      assertDurations({
        latencyMs: changes.latencyMs,
        delayBeforeDecisionMs: changes.delayBeforeDecisionMs,
      });
      assertFailureRate(changes.failureRate);
      assertFailureRate(changes.errorAfterDecisionRate);
      if (changes.clockOffsetMs !== undefined && !Number.isInteger(changes.clockOffsetMs))
        throw new RangeError(`clockOffsetMs must be an integer, got ${changes.clockOffsetMs}`);
      Object.assign(faults, changes);
    },
    close() {
      closing ??= simulatorApp.close();
      return closing;
    },
  };
}
