// Shared by the simulator's tests: a started simulator, a small JSON client over real HTTP, and a
// local server that records what the simulator POSTs to its notifyUrl.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from './index.ts';

export interface JsonResponse {
  readonly statusCode: number;
  // Tests read fields they expect and let assertions fail otherwise.
  readonly body: Record<string, unknown>;
}

export async function startTestSimulator(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, ...options });
}

export async function postJson(
  baseUrl: string,
  path: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<JsonResponse> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal !== undefined && { signal }),
  });
  return { statusCode: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function getJson(baseUrl: string, path: string): Promise<JsonResponse> {
  const response = await fetch(`${baseUrl}${path}`);
  return { statusCode: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function inquire(baseUrl: string, reference: string): Promise<JsonResponse> {
  return getJson(baseUrl, `/v1/operations/${encodeURIComponent(reference)}`);
}

let referenceCounter = 0;

/** A reference unique within the test process. */
export function newReference(label: string): string {
  referenceCounter += 1;
  return `${label}-${process.pid}-${referenceCounter}`;
}

export function cardAuthorization(reference: string, number: string, amount = 1000) {
  return {
    reference,
    amount,
    currency: 'EUR',
    method: 'card',
    card: { number, expMonth: 12, expYear: 2034, cvc: '123' },
  };
}

export async function authorizeCard(baseUrl: string, number: string, amount = 1000): Promise<JsonResponse> {
  return postJson(
    baseUrl,
    '/v1/authorizations',
    cardAuthorization(newReference('authorization'), number, amount),
  );
}

/** Polls an inquiry until `accept` holds; gives up after `deadlineMs` so a broken simulator fails the test. */
export async function inquireUntil(
  baseUrl: string,
  reference: string,
  accept: (response: JsonResponse) => boolean,
  deadlineMs = 10_000,
): Promise<JsonResponse> {
  const giveUpAt = Date.now() + deadlineMs;
  for (;;) {
    const response = await inquire(baseUrl, reference);
    if (accept(response) || Date.now() > giveUpAt) return response;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ReceivedNotification {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

export interface NotificationReceiver {
  readonly url: string;
  readonly received: ReceivedNotification[];
  /** Resolves once `count` notifications have arrived. */
  waitFor(count: number): Promise<readonly ReceivedNotification[]>;
  close(): Promise<void>;
}

/** A local HTTP server standing in for PayFlow's notification endpoint; answers `statusCodes` in turn, then 200. */
export async function startNotificationReceiver(
  statusCodes: readonly number[] = [],
): Promise<NotificationReceiver> {
  const received: ReceivedNotification[] = [];
  const waiters: Array<{ count: number; resolve: (value: readonly ReceivedNotification[]) => void }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
      response.statusCode = statusCodes[received.length - 1] ?? 200;
      response.end();
      for (const waiter of waiters.filter((item) => received.length >= item.count))
        waiter.resolve([...received]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/notifications`,
    received,
    waitFor(count) {
      if (received.length >= count) return Promise.resolve([...received]);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
