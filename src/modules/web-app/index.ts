// The web-app module: serves the React pages built from web/ (Vite, during `npm ci`/`npm install`)
// from the API process, so `npm start` needs no second server. Each page gets a strict CSP: its own
// scripts and styles only, calls to this origin only, no frames, no inline code. ADR 24.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import type { ModuleDefinition } from '../../platform/module.ts';
import type { HttpApp } from '../../platform/http/app.ts';
import { DomainError } from '../../platform/errors.ts';

export const webDistDirectory = path.resolve(import.meta.dirname, '../../../web/dist');

/** The CSP of every page: nothing but this origin's files and API, no inline code, no framing. */
export const pageContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

interface BuiltFiles {
  readonly pages: ReadonlyMap<string, Buffer>;
  readonly assets: ReadonlyMap<string, { body: Buffer; type: string }>;
}

/** Reads web/dist once at start: a few small files, so every request is served from memory. */
function readBuild(directory: string): BuiltFiles | undefined {
  if (!existsSync(path.join(directory, 'checkout.html'))) return undefined;
  const pages = new Map<string, Buffer>();
  for (const name of readdirSync(directory))
    if (name.endsWith('.html')) pages.set(name.slice(0, -5), readFileSync(path.join(directory, name)));
  const assets = new Map<string, { body: Buffer; type: string }>();
  const assetsDirectory = path.join(directory, 'assets');
  if (existsSync(assetsDirectory))
    for (const name of readdirSync(assetsDirectory)) {
      const type = contentTypes[path.extname(name)];
      if (type) assets.set(name, { body: readFileSync(path.join(assetsDirectory, name)), type });
    }
  return { pages, assets };
}

function notBuilt(): DomainError {
  return new DomainError(
    'web_app_not_built',
    503,
    'The web app is not built: run `npm install` (or `npm run build:web`) and restart.',
  );
}

function sendPage(reply: FastifyReply, built: BuiltFiles | undefined, page: string) {
  const body = built?.pages.get(page);
  if (!body) throw notBuilt();
  return reply
    .header('content-security-policy', pageContentSecurityPolicy)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(body);
}

export function registerWebAppRoutes(app: HttpApp, built: BuiltFiles | undefined): void {
  const hide = { hide: true };
  app.get('/checkout/:id', { schema: hide }, async (_request, reply) => sendPage(reply, built, 'checkout'));
  const dashboard = async (_request: unknown, reply: FastifyReply) => sendPage(reply, built, 'dashboard');
  app.get('/dashboard', { schema: hide }, dashboard);
  app.get('/dashboard/*', { schema: hide }, dashboard);
  app.get<{ Params: { name: string } }>('/app/assets/:name', { schema: hide }, async (request, reply) => {
    const asset = built?.assets.get(request.params.name);
    if (!asset) throw new DomainError('asset_not_found', 404, 'No such file.');
    // Names carry a content hash: a new build is a new name.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(asset.type)
      .send(asset.body);
  });
}

export const webAppModule: ModuleDefinition = {
  manifest: { name: 'web-app' },
  async create(context) {
    const built = readBuild(webDistDirectory);
    if (!built && context.role !== 'worker')
      context.log.warn({ directory: webDistDirectory }, 'web app not built: run npm run build:web');
    return { name: 'web-app', registerRoutes: (app) => registerWebAppRoutes(app, built) };
  },
};
