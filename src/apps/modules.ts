// The composition root's module list. Each module is reached only through its index.ts and exports a
// ModuleDefinition. `manifest` is static (migrations, CLI commands, log redaction); `create` builds
// the running module from the platform context and the public faces of the modules before it.
//
// Dependency order (a module may use only the faces of modules above it):
//   identity → vault → ledger → events → fraud → payments → (notifications, settlement, checkout)
// (fraud comes before payments: payments screens through its face, the RiskPort, and attaches its
// review decisions to it)
// (checkout pays through the payments HTTP API, so it needs payments' routes, not its face)
import type { ModuleDefinition, ModuleManifest } from '../platform/module.ts';
import { gatewayModule } from '../modules/gateway/index.ts';
import { identityModule } from '../modules/identity/index.ts';
import { vaultModule } from '../modules/vault/index.ts';
import { ledgerModule } from '../modules/ledger/index.ts';
import { eventsModule } from '../modules/events/index.ts';
import { paymentsModule } from '../modules/payments/index.ts';
import { notificationsModule } from '../modules/notifications/index.ts';
import { settlementModule } from '../modules/settlement/index.ts';
import { fraudModule } from '../modules/fraud/index.ts';
import { checkoutModule } from '../modules/checkout/index.ts';
import { webAppModule } from '../modules/web-app/index.ts';

export const modules: readonly ModuleDefinition[] = [
  identityModule,
  gatewayModule,
  vaultModule,
  ledgerModule,
  eventsModule,
  fraudModule,
  paymentsModule,
  notificationsModule,
  settlementModule,
  checkoutModule,
  webAppModule,
];

export function manifests(): ModuleManifest[] {
  return modules.map((module) => module.manifest);
}
