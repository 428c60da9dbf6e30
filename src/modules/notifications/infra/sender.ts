// Sends one webhook attempt: POST with the Standard Webhooks headers, no redirects followed, a
// deadline per attempt, and at most 1 KiB of the answer kept.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isForbiddenAddress } from '../domain/address-policy.ts';
import { guardedLookup } from './url-guard.ts';

export const responseBodyMax = 1024;

export interface AttemptResult {
  readonly statusCode: number | undefined;
  readonly responseBody: string | undefined;
  readonly error: string | undefined;
  readonly latencyMs: number;
}

function truncateBytes(buffer: Buffer): string {
  let text = buffer.subarray(0, responseBodyMax).toString('utf8');
  while (Buffer.byteLength(text) > responseBodyMax) text = text.slice(0, -1);
  return text;
}

export function sendWebhook(request: {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
}): Promise<AttemptResult> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      resolve({ statusCode: undefined, responseBody: undefined, error: 'invalid URL', latencyMs: 0 });
      return;
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (!request.allowPrivate && isIP(host) !== 0 && isForbiddenAddress(host)) {
      resolve({
        statusCode: undefined,
        responseBody: undefined,
        error: 'the URL points to a forbidden address',
        latencyMs: 0,
      });
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const body = Buffer.from(request.body);
    let settled = false;
    const finish = (result: Omit<AttemptResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: latency() });
    };
    const outgoing = client.request(url, {
      method: 'POST',
      headers: {
        ...request.headers,
        'content-length': String(body.length),
        'user-agent': 'PayFlow-Webhooks/1',
      },
      lookup: guardedLookup(request.allowPrivate),
      agent: false,
    });
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    outgoing.on('error', (error: Error) =>
      finish({ statusCode: undefined, responseBody: undefined, error: error.message.slice(0, 1000) }),
    );
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < responseBodyMax) chunks.push(chunk);
        size += chunk.length;
        if (size >= responseBodyMax) response.destroy();
      });
      const done = () =>
        finish({
          statusCode: response.statusCode,
          responseBody: truncateBytes(Buffer.concat(chunks)),
          error: undefined,
        });
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    outgoing.end(body);
  });
}
