// Dashboard sign-in: POST /dashboard/api/session (email + password → an httpOnly, SameSite=Strict
// session cookie, Secure under TLS, and the CSRF token for the page), GET to learn who is signed in
// (and the CSRF token again after a reload), DELETE to sign out (needs the CSRF token).
import { Type } from 'typebox';
import type { FastifyReply } from 'fastify';
import { jsonAnswer, noContent } from '../../../platform/http/documented.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { Sql } from '../../../platform/db/client.ts';
import type { HttpApp } from '../../../platform/http/app.ts';
import type { RequestAuthenticator } from '../../../platform/http/auth.ts';
import { csrfTokenOf, signIn, signOut } from '../application/dashboard-users.ts';
import { dashboardScopes, passwordLengthMax, sessionLifetimeMs } from '../domain/dashboard-users.ts';
import { activeSessionOf, sessionCookieName } from '../infra/dashboard-authenticator.ts';
import { findMerchantContact } from '../infra/identity-repository.ts';

const tags = ['dashboard'];
const SignInBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: passwordLengthMax }),
  },
  { additionalProperties: false },
);

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${sessionCookieName}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

// The session answers, for /openapi.json only (the route builds the body).
const SignedIn = Type.Object({
  user: Type.Object({
    id: Type.String(),
    email: Type.String(),
    role: Type.Union(Object.keys(dashboardScopes).map((role) => Type.Literal(role))),
    merchantId: Type.Union([Type.String(), Type.Null()], { description: 'null for an operator (ADR 32).' }),
    merchantName: Type.String({ description: 'The merchant\'s name; "PayFlow operations" for an operator.' }),
    scopes: Type.Array(Type.String()),
  }),
  csrfToken: Type.String({ description: 'Send it as `X-CSRF-Token` on every change.' }),
});

export function registerDashboardRoutes(
  app: HttpApp,
  options: { sql: Sql; clock: Clock; authenticator: RequestAuthenticator; secureCookies: boolean },
): void {
  const { sql, clock } = options;
  const describe = async (
    user: {
      userId: string;
      merchantId: string | undefined;
      email: string;
      role: keyof typeof dashboardScopes;
    },
    csrfToken: string,
  ) => ({
    user: {
      id: user.userId,
      email: user.email,
      role: user.role,
      merchantId: user.merchantId ?? null,
      merchantName:
        user.merchantId === undefined
          ? 'PayFlow operations'
          : ((await findMerchantContact(sql, user.merchantId))?.name ?? ''),
      scopes: [...dashboardScopes[user.role]],
    },
    csrfToken,
  });
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  app.post(
    '/dashboard/api/session',
    {
      schema: {
        documentedResponses: { 200: jsonAnswer(SignedIn, 'Signed in: the user and the CSRF token.') },
        tags,
        summary: 'Sign in to the dashboard (sets the session cookie)',
        body: SignInBody,
      },
    },
    async (request, reply) => {
      const signedIn = await signIn({ sql, clock }, request.body.email, request.body.password);
      noStore(reply).header(
        'set-cookie',
        sessionCookie(signedIn.sessionToken, Math.floor(sessionLifetimeMs / 1000), options.secureCookies),
      );
      return describe(signedIn.user, signedIn.csrfToken);
    },
  );

  app.get(
    '/dashboard/api/session',
    {
      schema: {
        documentedResponses: { 200: jsonAnswer(SignedIn, 'The signed-in user and the CSRF token.') },
        tags,
        summary: 'Who is signed in (and the CSRF token of the session)',
      },
    },
    async (request, reply) => {
      const { token, session } = await activeSessionOf(sql, clock, request);
      noStore(reply);
      return describe(session, csrfTokenOf(token));
    },
  );

  app.delete(
    '/dashboard/api/session',
    {
      schema: {
        documentedResponses: { 204: noContent('Signed out; the cookie is cleared.') },
        tags,
        summary: 'Sign out (needs X-CSRF-Token)',
      },
    },
    async (request, reply) => {
      await options.authenticator.authenticate(request); // session + CSRF check
      const { token } = await activeSessionOf(sql, clock, request);
      await signOut({ sql, clock }, token);
      return noStore(reply)
        .header('set-cookie', sessionCookie('', 0, options.secureCookies))
        .code(204)
        .send();
    },
  );
}
