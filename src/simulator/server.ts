// Builds the simulator's Fastify app: the fault hooks (failure rate, delays before and after the
// decision, errors after it, the clock), the fault API (/_simulator/faults), the error mapping, the
// routes and an orderly close. Listening belongs to startSimulator in index.ts.
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Acquirer } from './acquirer.ts';
import { registerApiRoutes, registerBankRoutes } from './api-routes.ts';
import { Bank } from './bank.ts';
import { registerBankPages } from './bank-pages.ts';
import type { ErrorAnswer } from './contract.ts';
import { Journal } from './journal.ts';
import { createNotifier } from './notifier.ts';
import { Pauses, SimulatorStoppedError } from './pauses.ts';

/** Request bodies are small JSON documents; anything larger is refused before parsing. */
export const bodyLimitBytes = 64 * 1024;
/** Most operations kept in memory before new ones are refused with 503 simulator_full. */
export const referencesMax = 1_000_000;

/** Fault injection, changeable while the simulator runs (an outage that starts and ends mid-test). */
export interface SimulatorFaults {
  /** Added to every answer, after the decision is recorded ("times out after the approval"). */
  latencyMs: number;
  /** Fraction (0..1) of /v1 requests answered 503 without recording anything. */
  failureRate: number;
  /**
   * Added before a /v1 POST is decided ("times out before the approval"): a client that gives up
   * meanwhile finds nothing by inquiry until the delay ends, then the decision recorded.
   */
  delayBeforeDecisionMs: number;
  /** Fraction (0..1) of /v1 POSTs answered 500 internal_error after their decision was recorded. */
  errorAfterDecisionRate: number;
  /** Moves the simulator's clock (settlement times, notification timestamps, payouts). */
  clockOffsetMs: number;
}

/** No fault: what a simulator starts with unless told otherwise. */
export const noFaults: SimulatorFaults = {
  latencyMs: 0,
  failureRate: 0,
  delayBeforeDecisionMs: 0,
  errorAfterDecisionRate: 0,
  clockOffsetMs: 0,
};

const durationMax = 600_000;

/** The body of PUT /_simulator/faults: any subset of the faults. */
export const FaultChanges = Type.Object(
  {
    latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: durationMax })),
    failureRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    delayBeforeDecisionMs: Type.Optional(Type.Integer({ minimum: 0, maximum: durationMax })),
    errorAfterDecisionRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    clockOffsetMs: Type.Optional(
      Type.Integer({ minimum: -(10 * 365 * 86_400_000), maximum: 10 * 365 * 86_400_000 }),
    ),
  },
  { additionalProperties: false },
);

export interface SimulatorSettings {
  readonly faults: SimulatorFaults;
  readonly slowResponseMs: number;
  readonly refundFailureDelayMs: number;
  readonly notifyUrl: string | undefined;
  readonly notifySecret?: string | undefined;
  readonly logger: false | Logger;
  /** Fastify's `logController` (which request lines are written); default Fastify's own. */
  readonly requestLogController?: LogController;
  /** The simulator's own base URL, known once it listens; bank redirect URLs start with it. */
  readonly baseUrl: () => string;
  /** Journal file of the state (journal.ts): read at start, appended on every change. */
  readonly stateFile?: string | undefined;
}

export interface SimulatorApp {
  readonly app: FastifyInstance;
  /** Ends every pause, lets the requests in flight answer (503 for the paused ones), then closes. */
  close(): Promise<void>;
}

/** Longest a close waits for requests in flight before cutting their connections. */
export const closeDrainTimeoutMs = 5_000;

/** Counts requests being answered, so a close can let them finish before cutting connections. */
class InFlightRequests {
  private count = 0;
  private readonly waiters: Array<() => void> = [];

  begin(): void {
    this.count += 1;
  }

  end(): void {
    this.count -= 1;
    if (this.count === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  drained(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      setTimeout(resolve, timeoutMs).unref();
    });
  }
}

interface ErrorReply {
  readonly statusCode: number;
  readonly body: ErrorAnswer;
}

function invalidRequest(detail: string): ErrorReply {
  return { statusCode: 400, body: { error: 'invalid_request', detail } };
}

function errorReplyFor(error: FastifyError): ErrorReply {
  if (error instanceof SimulatorStoppedError)
    return { statusCode: 503, body: { error: 'acquirer_unavailable' } };
  if (error.validation) return invalidRequest(error.message);
  // JSON.parse messages quote the body, which may hold a card number: never echo them.
  if (error instanceof SyntaxError) return invalidRequest('body is not valid JSON');
  if (error.statusCode === 400) return invalidRequest(error.message);
  if (error.statusCode === 413) return { statusCode: 413, body: { error: 'body_too_large' } };
  if (error.statusCode === 415) return { statusCode: 415, body: { error: 'unsupported_media_type' } };
  return { statusCode: 500, body: { error: 'internal_error' } };
}

function registerInFlightHook(app: FastifyInstance, inFlight: InFlightRequests): void {
  app.addHook('onRequest', async (_request, reply) => {
    inFlight.begin();
    // 'close' fires once the answer is sent or the client has gone, whichever comes first.
    reply.raw.once('close', () => inFlight.end());
  });
}

function isDecision(method: string, url: string): boolean {
  return method === 'POST' && url.startsWith('/v1/');
}

function registerFaultHooks(app: FastifyInstance, faults: SimulatorFaults, pauses: Pauses): void {
  // An outage refuses before the body is even read, so nothing can be recorded.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/') || faults.failureRate <= 0) return;
    if (Math.random() < faults.failureRate) {
      const body: ErrorAnswer = { error: 'acquirer_unavailable' };
      return reply.code(503).send(body);
    }
  });
  // After the body is read, so the request is decided once the delay ends even if its client left.
  app.addHook('preHandler', async (request) => {
    if (faults.delayBeforeDecisionMs > 0 && isDecision(request.method, request.url))
      await pauses.wait(faults.delayBeforeDecisionMs);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (
      faults.errorAfterDecisionRate > 0 &&
      reply.statusCode === 200 &&
      isDecision(request.method, request.url) &&
      Math.random() < faults.errorAfterDecisionRate
    ) {
      reply.code(500);
      const body: ErrorAnswer = { error: 'internal_error' };
      payload = JSON.stringify(body);
    }
    // A stopping simulator answers at once rather than holding shutdown for the latency.
    await pauses.wait(faults.latencyMs).catch((error: unknown) => {
      if (!(error instanceof SimulatorStoppedError)) throw error;
    });
    return payload;
  });
}

/** GET and PUT /_simulator/faults: a harness in another process changes faults while it runs. */
function registerFaultRoutes(root: FastifyInstance, faults: SimulatorFaults): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/_simulator/faults', async () => faults);
  app.put('/_simulator/faults', { schema: { body: FaultChanges } }, async (request) => {
    Object.assign(faults, request.body);
    return faults;
  });
}

function createFastify(logger: false | Logger, logController?: LogController): FastifyInstance {
  // Connections are cut on close once requests in flight have answered: a client's spare keep-alive
  // connection that never carried a request would otherwise hold the close for a minute.
  // References of up to 255 characters travel percent-encoded in /v1/operations/{reference}.
  const options = {
    bodyLimit: bodyLimitBytes,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 1024 },
  };
  if (logger === false) return Fastify({ ...options, logger: false });
  const loggerInstance: FastifyBaseLogger = logger;
  return Fastify({ ...options, loggerInstance, ...(logController && { logController }) });
}

export async function buildSimulatorApp(settings: SimulatorSettings): Promise<SimulatorApp> {
  const app = createFastify(settings.logger, settings.requestLogController);
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  const pauses = new Pauses();
  const now = () => Date.now() + settings.faults.clockOffsetMs;
  const acquirer = new Acquirer({
    now,
    ...(settings.stateFile !== undefined && { journal: new Journal(settings.stateFile) }),
    slowResponseMs: settings.slowResponseMs,
    refundFailureDelayMs: settings.refundFailureDelayMs,
    referencesMax,
    bankPageUrl: (authorizationId) => `${settings.baseUrl()}/bank/${encodeURIComponent(authorizationId)}`,
    pauses,
    notify: createNotifier({
      notifyUrl: settings.notifyUrl,
      notifySecret: settings.notifySecret,
      pauses,
      log: app.log,
      now,
    }),
    log: app.log,
  });
  const inFlight = new InFlightRequests();
  registerInFlightHook(app, inFlight);
  registerFaultHooks(app, settings.faults, pauses);
  registerFaultRoutes(app, settings.faults);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { statusCode, body } = errorReplyFor(error);
    const unexpected = statusCode >= 500 && !(error instanceof SimulatorStoppedError);
    if (unexpected) request.log.error({ err: error }, 'request failed');
    return reply.code(statusCode).send(body);
  });
  app.setNotFoundHandler((_request, reply) => {
    const body: ErrorAnswer = { error: 'not_found' };
    return reply.code(404).send(body);
  });
  registerApiRoutes(app, acquirer);
  registerBankRoutes(app, new Bank(0, now));
  await registerBankPages(app, acquirer);
  return {
    app,
    async close() {
      pauses.stop();
      await inFlight.drained(closeDrainTimeoutMs);
      await app.close();
    },
  };
}
