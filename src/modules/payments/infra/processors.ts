// One PaymentProcessor strategy per payment method, chosen by a factory. Each strategy knows what its
// method needs (vault credentials or none) and hands the call to the acquirer adapter.
import type {
  AcquirerOperations,
  AuthorizationCall,
  AuthorizationOutcome,
  PaymentMethodType,
  PaymentProcessor,
  ProcessorFactory,
} from '../application/ports.ts';
import type { AcquirerHttpClient } from './acquirer/acquirer-http.ts';

class CardProcessor implements PaymentProcessor {
  readonly method = 'card';
  readonly needsCredentials = true;
  constructor(private readonly acquirer: AcquirerHttpClient) {}
  authorize(call: AuthorizationCall): Promise<AuthorizationOutcome> {
    if (call.credentials?.kind !== 'card') throw new Error('a card payment needs card credentials');
    return this.acquirer.authorize('card', call);
  }
}

class WalletProcessor implements PaymentProcessor {
  readonly method = 'wallet';
  readonly needsCredentials = true;
  constructor(private readonly acquirer: AcquirerHttpClient) {}
  authorize(call: AuthorizationCall): Promise<AuthorizationOutcome> {
    if (call.credentials?.kind !== 'wallet') throw new Error('a wallet payment needs wallet credentials');
    return this.acquirer.authorize('wallet', call);
  }
}

class BankRedirectProcessor implements PaymentProcessor {
  readonly method = 'bank_redirect';
  readonly needsCredentials = false;
  constructor(private readonly acquirer: AcquirerHttpClient) {}
  authorize(call: AuthorizationCall): Promise<AuthorizationOutcome> {
    return this.acquirer.authorize('bank_redirect', { ...call, credentials: undefined });
  }
}

export function createProcessorFactory(acquirer: AcquirerHttpClient): ProcessorFactory {
  const processors: Record<PaymentMethodType, PaymentProcessor> = {
    card: new CardProcessor(acquirer),
    wallet: new WalletProcessor(acquirer),
    bank_redirect: new BankRedirectProcessor(acquirer),
  };
  const operations: AcquirerOperations = acquirer;
  return {
    processorFor: (method) => processors[method],
    operations,
  };
}
