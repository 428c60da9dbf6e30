// The gateway module's environment variables (ADR 30): declared here, listed on its manifest (so the
// app validates them at start and the README's configuration table shows them), read with
// `context.settings(gatewaySettings)`.
import { ConfigError, declareSettings, integer, variable, type Settings } from '../../platform/settings.ts';

export const gatewaySettings = declareSettings({
  rateLimits: variable(
    'RATE_LIMITS',
    'merchant=1200,publishable=600,admin=1200,service=12000,anonymous=600',
    'Token-bucket size per role (per client) and for `anonymous` (per IP: `/oauth/token`, unauthenticated calls); refilled every `RATE_LIMIT_WINDOW_SECONDS`. 0 turns a limit off.',
    (raw, name) => {
      const limits = { merchant: 0, publishable: 0, admin: 0, service: 0, anonymous: 0 };
      const seen = new Set<string>();
      for (const item of raw.split(',')) {
        const match = /^\s*(merchant|publishable|admin|service|anonymous)\s*=\s*(\d{1,9})\s*$/.exec(item);
        if (!match) throw new ConfigError(name, `must look like merchant=1200,anonymous=600 (got "${raw}")`);
        limits[match[1] as keyof typeof limits] = Number(match[2]);
        seen.add(match[1]!);
      }
      if (seen.size !== 5)
        throw new ConfigError(name, 'must set merchant, publishable, admin, service and anonymous');
      return limits as Readonly<typeof limits>;
    },
  ),
  rateLimitWindowSeconds: variable(
    'RATE_LIMIT_WINDOW_SECONDS',
    '60',
    'Time in which an empty rate-limit bucket refills completely.',
    integer(1, 86400),
  ),
  corsOrigins: variable(
    'CORS_ORIGINS',
    undefined,
    'Comma-separated origins (e.g. `https://shop.example`) whose browsers may call the API. Unset: none.',
    (raw, name) => {
      const origins = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      for (const origin of origins) {
        let url: URL;
        try {
          url = new URL(origin);
        } catch {
          throw new ConfigError(name, `has an origin that is not a URL: "${origin}"`);
        }
        if (url.origin !== origin)
          throw new ConfigError(name, `origins look like https://host[:port] (got "${origin}")`);
      }
      return origins as readonly string[];
    },
  ),
});

export type GatewayVariables = Settings<typeof gatewaySettings.variables>;
