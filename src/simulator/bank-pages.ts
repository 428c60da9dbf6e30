// The shopper's side of a bank redirect: a page with Approve and Decline buttons (plain HTML forms, no
// script) and the two form targets. After a decision the browser goes back to the merchant's
// returnUrl with 303 See Other, or sees a small result page when no returnUrl was given.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Acquirer, BankPageView } from './acquirer.ts';
import { AuthorizationParameters } from './contract.ts';

const htmlEscapes: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => htmlEscapes[character] ?? character);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

function bankPage(view: BankPageView): string {
  const id = encodeURIComponent(view.authorizationId);
  const summary = `<p>Payment <code>${escapeHtml(view.reference)}</code>: ${view.amount} (minor units) ${escapeHtml(view.currency)}</p>`;
  if (view.status !== 'requires_action')
    return page('Simulated bank', `${summary}\n<p>Already ${escapeHtml(view.status)}.</p>`);
  const buttons = `<form method="post" action="/bank/${id}/approve"><button type="submit">Approve</button></form>
<form method="post" action="/bank/${id}/decline"><button type="submit">Decline</button></form>`;
  return page('Simulated bank', `${summary}\n${buttons}`);
}

function sendHtml(reply: FastifyReply, statusCode: number, html: string) {
  return reply.code(statusCode).type('text/html; charset=utf-8').send(html);
}

export async function registerBankPages(root: FastifyInstance, acquirer: Acquirer): Promise<void> {
  await root.register(async (scope) => {
    // Browser forms post urlencoded bodies; the buttons carry no fields, so the body is ignored.
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, _body, done) => done(null, {}),
    );
    const app = scope.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/bank/:authorizationId',
      { schema: { params: AuthorizationParameters } },
      async (request, reply) => {
        const view = acquirer.bankPage(request.params.authorizationId);
        if (!view)
          return sendHtml(reply, 404, page('Unknown payment', '<p>This payment does not exist.</p>'));
        return sendHtml(reply, 200, bankPage(view));
      },
    );

    for (const choice of ['approve', 'decline'] as const) {
      app.post(
        `/bank/:authorizationId/${choice}`,
        { schema: { params: AuthorizationParameters } },
        async (request, reply) => {
          const decision = await acquirer.decideBankRedirect(
            request.params.authorizationId,
            choice === 'approve',
          );
          if (decision.type === 'unknown_authorization') {
            return sendHtml(reply, 404, page('Unknown payment', '<p>This payment does not exist.</p>'));
          }
          if (decision.returnUrl !== undefined) return reply.code(303).redirect(decision.returnUrl);
          return sendHtml(
            reply,
            200,
            page('Simulated bank', `<p>Payment ${escapeHtml(decision.status)}.</p>`),
          );
        },
      );
    }
  });
}
