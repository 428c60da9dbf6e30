// The vault face of a process that does not hold the vault key (VAULT_URL set): describe and
// detokenizeForProcessor call the `--role vault` process's internal routes with a service token
// (client credentials VAULT_CLIENT_ID / VAULT_CLIENT_SECRET, cached until shortly before expiry).
// Clear values are wrapped in Secret the moment they arrive and never logged.
import { DomainError } from '../../../platform/errors.ts';
import { createHttpClient, type HttpAnswer } from '../../../platform/http/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import { Secret } from '../domain/masked.ts';
import type { TokenDescription, TokensEndingIn } from '../application/describe-token.ts';
import type { DetokenizedPaymentData, DetokenizeRequest } from '../application/detokenize.ts';
import type { DetokenizedWire } from '../http/internal-routes.ts';

export interface ServiceToken {
  readonly accessToken: string;
  readonly expiresInSeconds: number;
}

export interface RemoteVaultOptions {
  readonly baseUrl: string;
  /** Client-credentials grant for the service client (in-process, through the identity face). */
  issueServiceToken(): Promise<ServiceToken>;
  readonly clock: Clock;
  readonly timeoutMs?: number;
}

export interface RemoteVault {
  describe(merchantId: string, token: string): Promise<TokenDescription | undefined>;
  describeMany(merchantId: string, tokens: readonly string[]): Promise<TokenDescription[]>;
  tokensEndingIn(merchantId: string, last4: string): Promise<TokensEndingIn>;
  detokenizeForProcessor(request: DetokenizeRequest): Promise<DetokenizedPaymentData>;
}

/** describe-many answers up to its request's limit of tokens; far below this. */
const answerBytesMax = 8 * 1024 * 1024;

/** A token is renewed this long before it expires, so none expires in flight. */
const renewBeforeExpiryMs = 60_000;

function vaultUnavailable(reason: string): DomainError {
  return new DomainError('vault_unavailable', 503, `The card vault is unavailable (${reason}).`);
}

export function createRemoteVault(options: RemoteVaultOptions): RemoteVault {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const http = createHttpClient();
  let cached: { accessToken: string; renewAtMs: number } | undefined;
  let pending: Promise<string> | undefined;

  async function token(): Promise<string> {
    if (cached && options.clock.now().getTime() < cached.renewAtMs) return cached.accessToken;
    pending ??= (async () => {
      try {
        const issued = await options.issueServiceToken();
        const lifetimeMs = issued.expiresInSeconds * 1000;
        cached = {
          accessToken: issued.accessToken,
          renewAtMs:
            options.clock.now().getTime() + Math.max(lifetimeMs - renewBeforeExpiryMs, lifetimeMs / 2),
        };
        return issued.accessToken;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  }

  async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const url = new URL(path, options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    for (let attempt = 0; ; attempt++) {
      let answer: HttpAnswer;
      try {
        answer = await http.call({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          timeoutMs,
          maxAnswerBytes: answerBytesMax,
        });
      } catch (error) {
        if (error instanceof DomainError) throw error;
        throw vaultUnavailable('no answer from VAULT_URL');
      }
      // A token revoked or signed by a retired key: fetch a fresh one once.
      if (answer.status === 401 && attempt === 0) {
        cached = undefined;
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(answer.text);
      } catch {
        json = undefined;
      }
      return { status: answer.status, json };
    }
  }

  return {
    async describe(merchantId, token) {
      const { status, json } = await post('internal/vault/describe', { merchantId, token });
      if (status === 404 || status === 400) return undefined;
      if (status !== 200 || typeof json !== 'object' || json === null)
        throw vaultUnavailable(`describe answered ${status}`);
      return json as TokenDescription;
    },
    async describeMany(merchantId, tokens) {
      if (tokens.length === 0) return [];
      const { status, json } = await post('internal/vault/describe-many', { merchantId, tokens });
      if (
        status !== 200 ||
        typeof json !== 'object' ||
        json === null ||
        !Array.isArray((json as { data?: unknown }).data)
      )
        throw vaultUnavailable(`describe-many answered ${status}`);
      return (json as { data: TokenDescription[] }).data;
    },
    async tokensEndingIn(merchantId, last4) {
      const { status, json } = await post('internal/vault/tokens-ending-in', { merchantId, last4 });
      if (status !== 200 || typeof json !== 'object' || json === null)
        throw vaultUnavailable(`tokens-ending-in answered ${status}`);
      return json as TokensEndingIn;
    },
    async detokenizeForProcessor(request) {
      const { status, json } = await post('internal/vault/detokenize', {
        merchantId: request.merchantId,
        token: request.token,
        purpose: request.purpose,
        actor: request.actor,
      });
      if (status === 404 || status === 400) throw new DomainError('token_not_found', 404, 'No such token.');
      if (status !== 200 || typeof json !== 'object' || json === null)
        throw vaultUnavailable(`detokenize answered ${status}`);
      const wire = json as DetokenizedWire;
      if (wire.kind === 'card') {
        return {
          kind: 'card',
          number: new Secret(wire.number ?? ''),
          ...(wire.cvc !== undefined && { cvc: new Secret(wire.cvc) }),
          ...(wire.holderName !== undefined && { holderName: wire.holderName }),
          expMonth: wire.expMonth,
          expYear: wire.expYear,
          brand: wire.brand,
          last4: wire.last4,
        };
      }
      return {
        kind: 'wallet',
        type: wire.type ?? '',
        networkToken: new Secret(wire.networkToken ?? ''),
        cryptogram: new Secret(wire.cryptogram ?? ''),
        expMonth: wire.expMonth,
        expYear: wire.expYear,
        brand: wire.brand,
        last4: wire.last4,
      };
    },
  };
}
