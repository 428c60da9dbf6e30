// `payflow webhooks listen`: a local webhook receiver for trying PayFlow's webhooks on one machine
// (the README's webhooks tour). It accepts every POST, verifies the Standard Webhooks signature
// with `--secret` (the endpoint's `whsec_…`) through the SDK's verifier — the one merchants use —
// prints one line per delivery, and lists what it received at `GET /events` (newest last, the last
// 100). A delivery whose signature does not verify is answered 400, so PayFlow retries it as it
// would against a merchant's receiver. `--count N` exits (0) after N accepted deliveries, `--timeout S`
// gives up (1) after S seconds. Loopback URLs need WEBHOOK_ALLOW_PRIVATE=true on PayFlow
// (which `npm start` sets).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { verifyWebhook, WebhookVerificationError } from '../../sdk/src/webhooks.ts';
import type { CliCommand } from '../platform/module.ts';
import { StartupError } from '../platform/db/embedded.ts';

export interface ReceivedWebhook {
  readonly webhookId: string | null;
  readonly type: string | null;
  readonly path: string;
  readonly receivedAt: string;
  /** `true` when the signature verified with the secret, `null` without a secret. */
  readonly verified: boolean | null;
  readonly failure?: string;
  readonly body: unknown;
}

const keep = 100;
const bodyLimitBytes = 1_048_576;

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= bodyLimitBytes) chunks.push(chunk);
    });
    request.on('end', () => resolve(size <= bodyLimitBytes ? Buffer.concat(chunks) : undefined));
    request.on('error', reject);
  });
}

function parsed(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return raw.toString('utf8').slice(0, 2000);
  }
}

export interface WebhookReceiver {
  readonly url: string;
  readonly received: readonly ReceivedWebhook[];
  /** Called with the number accepted so far (answered 2xx) after each accepted delivery. */
  onAccepted(listener: (accepted: number) => void): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: {
  readonly port: number;
  readonly host?: string;
  readonly secret?: string;
  readonly print?: (line: string) => void;
}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const listeners: ((accepted: number) => void)[] = [];
  let accepted = 0;
  const print = options.print ?? (() => undefined);
  const server: Server = createServer((request, response) => {
    const answer = (status: number, body?: unknown) => {
      response.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const path = (request.url ?? '/').split('?')[0]!;
    if (request.method === 'GET' && (path === '/events' || path === '/'))
      return answer(200, { data: received });
    if (request.method !== 'POST') return answer(405, { error: 'POST a webhook, or GET /events' });
    readBody(request).then(
      (raw) => {
        if (raw === undefined) return answer(413, { error: 'body too large' });
        const body = parsed(raw);
        const header = (name: string) => {
          const value = request.headers[name];
          return typeof value === 'string' ? value : null;
        };
        let verified: boolean | null = null;
        let failure: string | undefined;
        if (options.secret !== undefined) {
          try {
            verifyWebhook({ headers: request.headers, rawBody: raw, secret: options.secret });
            verified = true;
          } catch (error) {
            if (!(error instanceof WebhookVerificationError)) throw error;
            verified = false;
            failure = error.code;
          }
        }
        const type =
          typeof body === 'object' && body !== null && typeof (body as { type?: unknown }).type === 'string'
            ? (body as { type: string }).type
            : null;
        const entry: ReceivedWebhook = {
          webhookId: header('webhook-id'),
          type,
          path,
          receivedAt: new Date().toISOString(),
          verified,
          ...(failure !== undefined && { failure }),
          body,
        };
        received.push(entry);
        if (received.length > keep) received.shift();
        const check =
          verified === null
            ? 'not verified: no --secret'
            : verified
              ? 'signature verified'
              : `REFUSED: ${failure}`;
        print(
          `${entry.receivedAt} ${type ?? '(no type)'} ${entry.webhookId ?? '(no webhook-id)'} (${check})`,
        );
        print(`  ${JSON.stringify(body).slice(0, 600)}`);
        if (verified === false) return answer(400, { error: failure });
        answer(204);
        accepted += 1;
        for (const listener of listeners) listener(accepted);
      },
      () => answer(400, { error: 'unreadable body' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    received,
    onAccepted: (listener) => void listeners.push(listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const webhooksListenCommand: CliCommand = {
  path: ['webhooks', 'listen'],
  summary: 'A local webhook receiver: verifies, prints and lists (GET /events) what PayFlow sends.',
  usage: 'payflow webhooks listen [--port 4242] [--secret whsec_…] [--count N] [--timeout S]',
  needsDatabase: false,
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        port: { type: 'string', default: '4242' },
        secret: { type: 'string' },
        count: { type: 'string' },
        timeout: { type: 'string' },
      },
      strict: true,
    });
    if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
      throw new StartupError('--port must be a port number');
    const number = (text: string | undefined, name: string) => {
      if (text === undefined) return undefined;
      if (!/^\d{1,6}$/.test(text) || Number(text) < 1)
        throw new StartupError(`--${name} must be a positive number`);
      return Number(text);
    };
    const count = number(values.count, 'count');
    const timeoutSeconds = number(values.timeout, 'timeout');
    const print = (line: string) => process.stdout.write(`${line}\n`);
    const receiver = await startWebhookReceiver({
      port: Number(values.port),
      ...(values.secret !== undefined && { secret: values.secret }),
      print,
    });
    print(`listening on ${receiver.url} (POST any path; GET ${receiver.url}/events lists what arrived)`);
    const outcome = await new Promise<'stopped' | 'done' | 'timeout'>((resolve) => {
      const stop = () => resolve('stopped');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (count !== undefined) receiver.onAccepted((accepted) => accepted >= count && resolve('done'));
      if (timeoutSeconds !== undefined) setTimeout(() => resolve('timeout'), timeoutSeconds * 1000).unref();
    });
    await receiver.close();
    if (outcome === 'timeout') {
      print(`no ${count ?? ''} accepted webhook(s) within ${timeoutSeconds} s`.replace('  ', ' '));
      return 1;
    }
    return 0;
  },
};
