// The gateway module: the HTTP edge every route shares. Security headers and CORS, rate limits per
// client and per IP (in-process or Redis buckets), and Prometheus metrics. It owns no tables; it
// uses identity's authenticator to know who is calling.
import type { ModuleDefinition } from '../../platform/module.ts';
import type { IdentityFace } from '../identity/index.ts';
import { createMetricsRegistry } from '../../platform/metrics.ts';
import { createMemoryBucketStore, type BucketStore } from './infra/bucket-store.ts';
import { createRedisBucketStore } from './infra/redis-bucket-store.ts';
import { registerMetrics } from './http/metrics.ts';
import { registerRateLimits } from './http/rate-limit.ts';
import { registerSecurityHeaders } from './http/security.ts';
import { gatewaySettings } from './settings.ts';

export const gatewayModule: ModuleDefinition = {
  manifest: { name: 'gateway', settings: gatewaySettings },
  async create(context, faces) {
    const identity = faces['identity'] as IdentityFace | undefined;
    if (!identity) throw new Error('the gateway module needs the identity module before it');
    const { config } = context;
    const own = context.settings(gatewaySettings);
    const store: BucketStore = config.redisUrl
      ? await createRedisBucketStore(config.redisUrl, config.rateLimitRedisPrefix, context.log)
      : createMemoryBucketStore();
    return {
      name: 'gateway',
      async registerRoutes(app) {
        await registerSecurityHeaders(app, {
          tls: config.tlsCertFile !== undefined,
          corsOrigins: own.corsOrigins,
        });
        registerRateLimits(app, {
          authenticator: identity.authenticator,
          store,
          limits: own.rateLimits,
          windowSeconds: own.rateLimitWindowSeconds,
        });
        registerMetrics(app, identity.authenticator, context.metrics ?? createMetricsRegistry());
      },
      close: () => store.close(),
    };
  },
};
