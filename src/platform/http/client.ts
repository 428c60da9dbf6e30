// PayFlow's outgoing HTTP calls to services it trusts by configuration (the acquirer, the vault
// process): node:http(s) on a keep-alive agent, one deadline for the whole call, a cap on the
// answer's size. Not for merchant URLs (webhooks go through notifications' guarded sender).
// Why not fetch: undici's fetch costs ≈ 0.3–0.5 ms of CPU per call more than node:http on this
// path (web streams, AbortSignal, Headers objects); the acquirer call is on every authorize (ADR 18).
import http from 'node:http';
import https from 'node:https';

export interface HttpCall {
  readonly method: 'GET' | 'POST';
  /** Absolute URL. */
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is; a JSON body needs its content-type in `headers`. */
  readonly body?: string;
  /** Deadline of the whole call: connect, send, and the complete answer. */
  readonly timeoutMs: number;
  /** Answers longer than this fail the call with `answer_too_large`. */
  readonly maxAnswerBytes: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly text: string;
}

/**
 * Why a call has no answer. The message never holds the request (a body could carry card data).
 * `timeout`: the deadline passed (the other side may have acted); `unreachable`: no connection,
 * or it broke before a complete answer; `answer_too_large`: the answer exceeded the cap.
 */
export class HttpCallError extends Error {
  constructor(
    readonly reason: 'timeout' | 'unreachable' | 'answer_too_large',
    detail: string,
  ) {
    super(detail);
    this.name = 'HttpCallError';
  }
}

export interface HttpClient {
  call(request: HttpCall): Promise<HttpAnswer>;
  /** Closes the idle keep-alive connections. */
  close(): void;
}

/** One client per remote service: its agents keep up to `maxSockets` connections open for reuse. */
export function createHttpClient(options: { readonly maxSockets?: number } = {}): HttpClient {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    scheduling: 'lifo' as const,
  };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  return {
    call(request) {
      return new Promise<HttpAnswer>((resolve, reject) => {
        const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
        const secure = url.protocol === 'https:';
        const headers: Record<string, string> = { ...request.headers };
        if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
        let settled = false;
        const fail = (error: HttpCallError) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          outgoing.destroy();
          reject(error);
        };
        const outgoing = (secure ? https : http).request(url, {
          method: request.method,
          headers,
          agent: secure ? agents.https : agents.http,
        });
        const timer = setTimeout(
          () => fail(new HttpCallError('timeout', `no complete answer within ${request.timeoutMs} ms`)),
          request.timeoutMs,
        );
        outgoing.on('error', (error: NodeJS.ErrnoException) =>
          fail(new HttpCallError('unreachable', `connection failed (${error.code ?? error.name})`)),
        );
        outgoing.on('response', (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > request.maxAnswerBytes)
              fail(
                new HttpCallError('answer_too_large', `answer longer than ${request.maxAnswerBytes} bytes`),
              );
            else chunks.push(chunk);
          });
          response.on('error', () => fail(new HttpCallError('unreachable', 'the answer broke off')));
          response.on('aborted', () => fail(new HttpCallError('unreachable', 'the answer broke off')));
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              status: response.statusCode ?? 0,
              contentType: response.headers['content-type'],
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
        });
        outgoing.end(request.body);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
