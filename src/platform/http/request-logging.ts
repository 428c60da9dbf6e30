// One log line per request (issue 12, ADR 18). Fastify's default writes two at `info`: "incoming
// request" (the method and the masked URL) and "request completed" (status and time). Each line is a
// redaction pass, a serialisation and a write; under load the pair cost ≈ 8 % of PayFlow's CPU. Here
// "request completed" carries the request too (method, masked URL, host, remote address: the same
// serializer), so one line says everything both did; "incoming request" is written only at `debug`
// (a request that never completes is still seen there). Errors, stream errors and everything else
// are logged as Fastify does.
import { LogController } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../log.ts';

export class OneLinePerRequest extends LogController {
  override incomingRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if ((request.log as Logger).isLevelEnabled('debug')) super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error || this.isLogDisabled(request)) return super.requestCompleted(error, request, reply, metadata);
    reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
