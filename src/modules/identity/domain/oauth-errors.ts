// Token-endpoint failures as RFC 6749 §5.2 names them. Each is a DomainError whose `code` is the
// OAuth error, carried both as problem details and as the `error`/`error_description` members that
// OAuth client libraries read.
import { DomainError } from '../../../platform/errors.ts';

/** The ones PayFlow's client-credentials endpoint answers (`invalid_grant` and `unauthorized_client` never apply). */
export type OAuthErrorCode =
  'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';

export function oauthError(code: OAuthErrorCode, description: string): DomainError {
  const status = code === 'invalid_client' ? 401 : 400;
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache' };
  if (code === 'invalid_client') headers['www-authenticate'] = 'Basic realm="payflow", charset="UTF-8"';
  return new DomainError(code, status, description, { error: code, error_description: description }, headers);
}
