// SSRF guard: a webhook URL must be http(s) and every address its host resolves to must be allowed,
// both when the endpoint is registered and on each delivery (where the check runs inside the
// connection's own DNS lookup, so a host cannot resolve to a public address for the check and a
// private one for the connection).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { DomainError } from '../../../platform/errors.ts';
import { isForbiddenAddress } from '../domain/address-policy.ts';

export function parseWebhookUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DomainError('webhook_url_invalid', 422, 'The webhook URL is not a valid URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DomainError('webhook_url_invalid', 422, 'A webhook URL starts with https:// or http://.');
  }
  if (url.username !== '' || url.password !== '') {
    throw new DomainError('webhook_url_invalid', 422, 'A webhook URL carries no credentials.');
  }
  return url;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Refuses (422 `webhook_url_forbidden`) a URL whose host resolves to a forbidden address. */
export async function assertDeliverableUrl(text: string, allowPrivate: boolean): Promise<URL> {
  const url = parseWebhookUrl(text);
  if (allowPrivate) return url;
  const host = hostOf(url);
  let addresses: readonly string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      const found = await new Promise<LookupAddress[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (error, result) => (error ? reject(error) : resolve(result))),
      );
      addresses = found.map((entry) => entry.address);
    } catch {
      throw new DomainError('webhook_url_unresolvable', 422, `The webhook host ${host} does not resolve.`);
    }
  }
  if (addresses.length === 0 || addresses.some(isForbiddenAddress)) {
    throw new DomainError(
      'webhook_url_forbidden',
      422,
      'The webhook URL resolves to a loopback, private, link-local or metadata address.',
    );
  }
  return url;
}

/** A DNS lookup for outgoing deliveries that fails when any resolved address is forbidden. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      if (!allowPrivate && (addresses.length === 0 || addresses.some((a) => isForbiddenAddress(a.address)))) {
        return callback(
          Object.assign(new Error(`${hostname} resolves to a forbidden address`), { code: 'EFORBIDDEN' }),
          '',
          0,
        );
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
