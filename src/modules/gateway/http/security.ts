// Security headers (helmet) and the CORS allow-list. The Content-Security-Policy allows what the
// Swagger UI at /docs needs (its own scripts, inline styles, data: images) and nothing else; HSTS is
// sent only when PayFlow itself serves HTTPS.
import cors from '@fastify/cors';
import helmet from 'helmet';
import type { HttpApp } from '../../../platform/http/app.ts';

export const hstsMaxAgeSeconds = 31_536_000;

export async function registerSecurityHeaders(
  app: HttpApp,
  options: { tls: boolean; corsOrigins: readonly string[] | undefined },
): Promise<void> {
  // Built once: @fastify/helmet builds helmet's middleware (parsing the CSP directives) again on
  // every request, ≈ 1 % of PayFlow's CPU under load (issue 12, ADR 18). The headers are the same.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'style-src': ["'self'", "'unsafe-inline'"],
        'script-src': ["'self'"],
        'frame-ancestors': ["'none'"],
        'upgrade-insecure-requests': options.tls ? [] : null,
      },
    },
    strictTransportSecurity: options.tls ? { maxAge: hstsMaxAgeSeconds, includeSubDomains: true } : false,
  });
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined));
  });
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...options.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
      exposedHeaders: [
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
        'retry-after',
        'x-request-id',
        'location',
        'www-authenticate',
      ],
      maxAge: 600,
    });
  }
}
