// One path style for the API (ADR 29): every API operation lives under `/v1`, whatever path its
// module registers it with, and every path PayFlow documented before (`/payments/…`, `/tokens`,
// `/balance`, `/fraud/…`, `/webhooks/…`, `/settlements`, `/payouts`, `/checkout/sessions/…`) keeps
// answering the same, as an alias: the request's URL is rewritten to the `/v1` path before routing,
// so the same route (same handler, hooks, idempotency fingerprint, rate-limit bucket, metrics
// label) answers both, and /openapi.json lists each operation once, under `/v1`.
//
// Paths that standards, browsers or operators expect where they are stay unversioned: the OAuth2
// token endpoint and `/.well-known/*`, the probes, `/metrics`, the API document and its viewer, the
// dashboard (its pages and its cookie-session API), the checkout page, the web app's assets and the
// vault's service-to-service routes.
import type { IncomingMessage } from 'node:http';
import type { RouteOptions } from 'fastify';

export const apiPrefix = '/v1';

/** Paths (or path prefixes ending in `/`) that are not moved under {@link apiPrefix}. */
const unversioned: readonly RegExp[] = [
  /^\/v1(\/|$)/,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
  /^\/oauth\//,
  /^\/\.well-known\//,
  /^\/dashboard(\/|$)/,
  /^\/checkout\/:id$/,
  /^\/app\/assets\//,
  /^\/internal\//,
];

/** Whether a route registered with this path template is moved under `/v1`. */
export function isVersioned(template: string): boolean {
  return !unversioned.some((pattern) => pattern.test(template));
}

const publicUrlKey = 'payflowPublicUrl';

/** The route template a request matched as clients call it (`/v1/payments/:id`): metrics and spans. */
export function routeTemplateOf(request: {
  readonly routeOptions: { readonly url?: string | undefined; readonly config?: unknown };
}): string | undefined {
  const config = request.routeOptions.config as Record<string, unknown> | undefined;
  const moved = config?.[publicUrlKey];
  return typeof moved === 'string' ? moved : request.routeOptions.url;
}

function templatePattern(template: string): RegExp {
  const source = template
    .split('/')
    .map((segment) =>
      segment === '*'
        ? '.*'
        : segment.startsWith(':')
          ? '[^/]+'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  // The app ignores one trailing slash; so does the alias.
  return new RegExp(`^${source}/?$`);
}

export interface ApiPaths {
  /** Fastify's `onRoute` hook: moves an unversioned API route under `/v1` and remembers its old path. */
  onRoute(route: RouteOptions): void;
  /** Fastify's `rewriteUrl`: a request to a previously documented path is routed to its `/v1` path. */
  rewriteUrl(request: IncomingMessage): string;
  /** The old (alias) templates, for tests and the ADR's list. */
  aliases(): readonly string[];
}

export function createApiPaths(): ApiPaths {
  const aliasTemplates: string[] = [];
  const aliasPatterns: RegExp[] = [];
  return {
    onRoute(options) {
      // Fastify's onRoute options also carry the registering plugin's prefix and a `path` alias.
      const route = options as RouteOptions & { prefix?: string; path?: string };
      // A route inside a prefixed plugin (the API viewer under /docs) is left where it is.
      if (route.prefix !== undefined && route.prefix !== '') return;
      const template = route.url;
      if (template === undefined || !isVersioned(template)) return;
      const moved = `${apiPrefix}${template}`;
      route.url = moved;
      route.path = moved;
      // Fastify keeps the template it was given as `request.routeOptions.url`; the moved one travels
      // in the route's config for the labels of metrics and spans (routeTemplateOf).
      route.config = { ...(route.config as object | undefined), [publicUrlKey]: moved } as never;
      if (!aliasTemplates.includes(template)) {
        aliasTemplates.push(template);
        aliasPatterns.push(templatePattern(template));
      }
    },
    rewriteUrl(request) {
      const url = request.url ?? '/';
      const queryAt = url.indexOf('?');
      const path = queryAt === -1 ? url : url.slice(0, queryAt);
      if (path.startsWith(`${apiPrefix}/`)) return url;
      return aliasPatterns.some((pattern) => pattern.test(path)) ? `${apiPrefix}${url}` : url;
    },
    aliases: () => aliasTemplates,
  };
}
