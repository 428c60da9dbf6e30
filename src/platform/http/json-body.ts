// How request bodies are read at the HTTP edge, for every module: JSON only (text/plain is refused
// with 415 like any other media type), no body or an empty JSON body means "no fields" so that a
// route whose fields all have defaults needs none, and a string that PostgreSQL could not store (a
// lone UTF-16 surrogate, which JSON.stringify produces from ordinary JavaScript strings) is a 400
// that names where it is, never a 500 from the database.
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../errors.ts';

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(text: string): boolean {
  return !loneSurrogate.test(text);
}

/** Nesting beyond this is not walked again: JSON.parse has already bounded the body by its size. */
const walkDepthMax = 64;

/**
 * A key is named in the pointer only when it looks like a field name (letters, digits, `_`, `$`,
 * no run of five digits): any other key could be the caller's data, even a card number, and is
 * written `(key)` so that an error never echoes it.
 */
function nameable(key: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(key) && !/[0-9]{5}/.test(key);
}

/** The JSON pointer of the first key or string holding a lone surrogate, or undefined. */
export function findLoneSurrogate(value: unknown, pointer = '', depth = 0): string | undefined {
  if (typeof value === 'string') return wellFormed(value) ? undefined : pointer || '/';
  if (value === null || typeof value !== 'object' || depth >= walkDepthMax) return undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const found = findLoneSurrogate(value[index], `${pointer}/${index}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const escaped = nameable(key) ? key : '(key)';
    if (!wellFormed(key)) return `${pointer}/${escaped}`;
    const found = findLoneSurrogate(item, `${pointer}/${escaped}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function registerJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, (error, parsed) => {
      if (error) return done(error);
      const where = findLoneSurrogate(parsed);
      if (where === undefined) return done(null, parsed);
      done(
        new DomainError('invalid_unicode', 400, `The string at ${where} holds a lone UTF-16 surrogate.`, {
          errors: [{ path: `body${where}`, message: 'must be well-formed Unicode' }],
        }),
      );
    });
  });
  // No body on a route that takes one is an empty object: its defaults apply, and a missing required
  // field is named as such instead of "body must be object".
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });
}
