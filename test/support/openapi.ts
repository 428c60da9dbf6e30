// Checks an answer against the schema /openapi.json documents for it (JSON Schema 2020-12, which
// OpenAPI 3.1 uses), with TypeBox's JSON Schema checker: what the document promises a client
// generator is what the server sends. `$ref`s to components are inlined first.
import { Check, Errors } from 'typebox/schema';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  readonly paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
  readonly components?: { readonly schemas?: Record<string, Json> };
}

export async function fetchOpenApi(baseUrl: string): Promise<OpenApiDocument> {
  return (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument;
}

function inlineRefs(value: unknown, document: OpenApiDocument, depth = 0): unknown {
  if (depth > 32) throw new Error('the OpenAPI schema nests deeper than 32 (a $ref cycle?)');
  if (Array.isArray(value)) return value.map((item) => inlineRefs(item, document, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const ref = (value as Json)['$ref'];
  if (typeof ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    const target = name === undefined ? undefined : document.components?.schemas?.[name];
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return inlineRefs(target, document, depth + 1);
  }
  return Object.fromEntries(
    Object.entries(value as Json).map(([key, item]) => [key, inlineRefs(item, document, depth + 1)]),
  );
}

/** The documented JSON schema of one answer; throws when the document has none. */
export function responseSchema(
  document: OpenApiDocument,
  path: string,
  method: string,
  status: number,
): Json {
  const response = document.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
  const content = response?.['content'] as Record<string, { schema?: Json }> | undefined;
  const schema = content?.['application/json']?.schema;
  if (schema === undefined) throw new Error(`${method} ${path} documents no JSON schema for ${status}`);
  return inlineRefs(schema, document) as Json;
}

/** The ways `body` breaks the documented schema (empty when it conforms). */
export function schemaViolations(schema: Json, body: unknown): string[] {
  if (Check(schema, body)) return [];
  const [, errors] = Errors(schema, body);
  return errors.map((error) => `${error.instancePath || '/'}: ${error.message}`);
}
