// The checkout module (ADR 24): hosted checkout sessions a merchant creates and a payer pays on
// PayFlow's page (/checkout/{id}, served from web/ by the web-app module). It authorizes through the
// payments API as a merchant client of its own, and stages checkout.session.completed.v1.
import type { ModuleDefinition } from '../../platform/module.ts';
import { newId } from '../../platform/ids.ts';
import { openSecretSealer } from '../../platform/secrets.ts';
import type { EventsFace } from '../events/index.ts';
import type { IdentityFace } from '../identity/index.ts';
import type { CheckoutDependencies } from './application/ports.ts';
import { registerCheckoutRoutes } from './http/routes.ts';
import { bindingOf, checkoutClients, paymentsApiAuthorizer } from './infra/payments-authorizer.ts';

export const checkoutEventTypes = ['checkout.session.completed.v1'] as const;

export const checkoutModule: ModuleDefinition = {
  manifest: {
    name: 'checkout',
    migrationsDirectory: new URL('./migrations', import.meta.url).pathname,
    // `payflow secrets rotate-key` re-seals the checkout's merchant client secrets too.
    sealedColumns: [
      {
        table: 'checkout.merchant_clients',
        idColumn: 'merchant_id',
        column: 'client_secret_sealed',
        binding: bindingOf,
      },
    ],
  },
  async create(context, faces) {
    const identity = faces['identity'] as IdentityFace | undefined;
    const events = faces['events'] as EventsFace | undefined;
    if (!identity) throw new Error('checkout needs the identity module before it');
    const dependencies: CheckoutDependencies = {
      sql: context.sql,
      clock: context.clock,
      log: context.log.child({ module: 'checkout' }),
      newId: (prefix) => newId(prefix, context.clock.now().getTime()),
      stage: async (transaction, event) => {
        if (!events) throw new Error('checkout needs the events module to complete sessions');
        return events.stage(transaction, event);
      },
      merchants: {
        name: async (merchantId) => (await identity.merchantContact(merchantId))?.name,
        publishableKey: (merchantId) => identity.publishableKey(merchantId),
      },
    };
    const clients = checkoutClients({
      sql: context.sql,
      clock: context.clock,
      sealer: openSecretSealer(context.config, context.log),
      identity: {
        createClient: (input) => identity.createClient(input),
        issueClientToken: (clientId, clientSecret) => identity.issueClientToken(clientId, clientSecret),
      },
    });
    return {
      name: 'checkout',
      registerRoutes(app) {
        registerCheckoutRoutes(app, {
          dependencies,
          authenticator: identity.authenticator,
          authorizer: paymentsApiAuthorizer(app, clients),
          publicBaseUrl: context.config.publicBaseUrl,
          prepareMerchant: clients.ensure,
        });
      },
    };
  },
};
