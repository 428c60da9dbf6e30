// What the identity use cases and routes need, built once by the module.
import type { Sql } from '../../../platform/db/client.ts';
import type { Clock } from '../../../platform/clock.ts';
import type { TokenSettings } from '../application/issue-token.ts';
import type { KeyRing } from './key-ring.ts';

export interface IdentityDependencies {
  readonly sql: Sql;
  readonly clock: Clock;
  readonly keyRing: KeyRing;
  readonly settings: TokenSettings;
}
