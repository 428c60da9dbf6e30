// The identity CLI: merchants, operator/service clients (list, disable, enable, secret rotation) and
// signing-key rotation.
// Each prints one JSON document on stdout; secrets appear there once and nowhere else.
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { printJson, reportingDomainErrors, usageError } from '../../platform/cli.ts';
import type { CliCommand } from '../../platform/module.ts';
import { confidentialRoles, createClient, type ConfidentialRole } from './application/create-client.ts';
import { createMerchant } from './application/create-merchant.ts';
import { disableClient, enableClient, type ClientAccessResult } from './application/change-client-access.ts';
import { rotateClientSecret } from './application/rotate-client-secret.ts';
import { listClients } from './infra/client-access-repository.ts';
import { describeClient } from './http/client-routes.ts';
import { rotateSigningKey } from './application/rotate-signing-key.ts';
import { sealClearSigningKeys } from './application/seal-signing-keys.ts';
import { openSecretSealer } from '../../platform/secrets.ts';
import { listSigningKeys } from './infra/identity-repository.ts';
import { identitySettings } from './settings.ts';

/** Who ran the command, for the audit trail (identity.client_access_changes). */
function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function describeChange(result: ClientAccessResult): Record<string, unknown> {
  return { ...describeClient(result.client), changed: result.changed };
}

/** The arguments `<clientId> [--reason <text>]` as a change to that client by the CLI's user; undefined without one client id. */
function clientChangeRequest(
  args: readonly string[],
): { clientId: string; actor: string; reason: string | undefined } | undefined {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { reason: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const clientId = positionals[0];
  if (!clientId || positionals.length !== 1) return undefined;
  return { clientId, actor: cliActor(), reason: values.reason };
}

/** `clients disable|enable <clientId> [--reason <text>]`. */
function accessCommand(verb: 'disable' | 'enable'): CliCommand {
  const change = verb === 'disable' ? disableClient : enableClient;
  return {
    path: ['clients', verb],
    summary:
      verb === 'disable'
        ? 'Disable a client: no new tokens, and every token it holds is refused within 2 s.'
        : 'Enable a disabled client; tokens issued before it was disabled stay refused.',
    usage: `payflow clients ${verb} <clientId> [--reason <text>]`,
    needsDatabase: true,
    async run(args, context) {
      const request = clientChangeRequest(args);
      if (!request) return usageError(`clients ${verb} needs one <clientId>`);
      return reportingDomainErrors(async () =>
        printJson(context, describeChange(await change(context, request))),
      );
    },
  };
}

export const identityCommands: readonly CliCommand[] = [
  {
    path: ['merchants', 'create'],
    summary: 'Create a merchant; prints its client id, client secret (once) and publishable key.',
    usage: 'payflow merchants create --name <name> [--email <contact address>]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { name: { type: 'string' }, email: { type: 'string' } },
        strict: true,
      });
      if (!values.name) return usageError('merchants create needs --name "<merchant name>"');
      const name = values.name;
      const options = { email: values.email };
      return reportingDomainErrors(async () =>
        printJson(context, await createMerchant(context, name, options)),
      );
    },
  },
  {
    path: ['clients', 'create'],
    summary: 'Create an API client (admin operator, service, or another merchant client).',
    usage: 'payflow clients create --role admin|service|merchant [--merchant <id>] [--description <text>]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: {
          role: { type: 'string' },
          merchant: { type: 'string' },
          description: { type: 'string' },
        },
        strict: true,
      });
      const role = values.role as ConfidentialRole | undefined;
      if (!role || !confidentialRoles.includes(role))
        return usageError(`clients create needs --role ${confidentialRoles.join('|')}`);
      const input = { role, merchantId: values.merchant, description: values.description };
      return reportingDomainErrors(async () => printJson(context, await createClient(context, input)));
    },
  },
  {
    path: ['clients', 'list'],
    summary: 'List API clients with their state (active or disabled, and why).',
    usage: 'payflow clients list [--merchant <id>]',
    needsDatabase: true,
    async run(args, context) {
      const { values } = parseArgs({
        args: [...args],
        options: { merchant: { type: 'string' } },
        strict: true,
      });
      printJson(
        context,
        (await listClients(context.sql, { merchantId: values.merchant })).map(describeClient),
      );
    },
  },
  accessCommand('disable'),
  accessCommand('enable'),
  {
    path: ['clients', 'rotate-secret'],
    summary:
      'Issue a new secret for a client; the old secret and every token issued with it stop working at once.',
    usage: 'payflow clients rotate-secret <clientId> [--reason <text>]',
    needsDatabase: true,
    async run(args, context) {
      const request = clientChangeRequest(args);
      if (!request) return usageError('clients rotate-secret needs one <clientId>');
      return reportingDomainErrors(async () =>
        printJson(context, await rotateClientSecret(context, request)),
      );
    },
  },
  {
    path: ['keys', 'rotate'],
    summary: 'Add a new token-signing key; the old one verifies until its tokens expire.',
    usage: 'payflow keys rotate',
    needsDatabase: true,
    async run(args, context) {
      parseArgs({ args: [...args], strict: true });
      // The new key is sealed under the secrets key every server uses; check it fits first.
      const sealer = openSecretSealer(context.config, context.log);
      await sealClearSigningKeys(context.sql, sealer);
      const rotated = await rotateSigningKey(
        { ...context, sealer },
        {
          algorithm: context.settings(identitySettings).tokenSigningAlgorithm,
          tokenTtlSeconds: context.settings(identitySettings).tokenTtlSeconds,
          leewaySeconds: context.settings(identitySettings).tokenLeewaySeconds,
        },
      );
      printJson(context, rotated);
    },
  },
  {
    path: ['keys', 'list'],
    summary: 'List token-signing keys and their rotation state.',
    needsDatabase: true,
    async run(args, context) {
      parseArgs({ args: [...args], strict: true });
      const keys = await listSigningKeys(context.sql);
      printJson(
        context,
        keys.map(({ kid, algorithm, status, createdAt, notAfter }) => ({
          kid,
          algorithm,
          status,
          createdAt,
          notAfter,
        })),
      );
    },
  },
];
