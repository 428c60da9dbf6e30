// Checks an answer against the schema the served /openapi.json documents for it, with
// @hyperjump/json-schema's OpenAPI 3.1 validator (independent of the Fastify/TypeBox code that writes
// the document and serializes the answers), as test/readme-tours.test.ts does for the README.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validate } from '@hyperjump/json-schema/openapi-3-1';

export interface OpenApiAnswers {
  /**
   * The ways `body` breaks the documented JSON schema of that answer (empty when it conforms).
   * `template` may omit the `/v1` prefix (ADR 29).
   */
  violations(template: string, method: string, status: number, body: unknown): Promise<string[]>;
  close(): void;
}

const pointer = (...tokens: string[]) =>
  tokens.map((token) => `/${encodeURIComponent(token.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');

export async function openApiAnswers(baseUrl: string): Promise<OpenApiAnswers> {
  const source = await (await fetch(`${baseUrl}/openapi.json`)).text();
  const document = JSON.parse(source) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
    >;
  };
  const folder = mkdtempSync(path.join(os.tmpdir(), 'payflow-openapi-'));
  // A file name ending in openapi.json is read as an OpenAPI document by the validator.
  const file = path.join(folder, 'payflow.openapi.json');
  writeFileSync(file, source);
  const documentUri = `file://${file}`;
  return {
    async violations(given, method, status, body) {
      // A template may be given as it was before ADR 29 (`/balance`): the API's paths are under /v1.
      const template = document.paths[given] === undefined ? `/v1${given}` : given;
      const operation = document.paths[template]?.[method.toLowerCase()];
      const content = operation?.responses[String(status)]?.content;
      if (content?.['application/json'] === undefined)
        return [`${method} ${template} documents no JSON answer for ${status}`];
      const schema = `${documentUri}#${pointer('paths', template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`;
      const output = await validate(schema, body as never, 'BASIC');
      if (output.valid) return [];
      return (output.errors ?? []).map(
        (error) => `${error.instanceLocation} ${error.absoluteKeywordLocation.split('#')[1] ?? ''}`,
      );
    },
    close() {
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
