// Which tokens are revoked, as one process sees it, without a query per request: the generations of
// clients that were disabled, re-enabled or had their secret rotated, held in memory. The process
// rereads them when a change is notified (LISTEN, milliseconds) and otherwise checks every
// `revocationsPollMs` whether identity.client_access_changes grew, so a revocation reaches every
// process within `revocationDelayMaxMs` even when a notification is lost (ADR 15).
import type { Sql } from '../../../platform/db/client.ts';
import type { Logger } from '../../../platform/log.ts';
import {
  clientAccessChannel,
  findRevokedGenerations,
  latestClientAccessChangeId,
} from './client-access-repository.ts';

export const revocationsPollMs = 1_000;
/** The documented bound: one poll interval plus a query. */
export const revocationDelayMaxMs = 2_000;

export type RevocationReason = 'client disabled' | 'token generation revoked';

export interface RevocationCheck {
  /** Why a token of this client and generation is refused, or undefined when it is not. */
  refusal(clientId: string, generation: number): RevocationReason | undefined;
  /**
   * How long ago (ms) the list was last known current, when that is longer than the allowed bound:
   * the list may miss a revocation, so tokens are refused as "cannot check" (503), never accepted
   * on a list of unknown age. Undefined while the list is current enough.
   */
  staleForMs(): number | undefined;
}

export interface RevocationOptions {
  /** Past this age of the last successful refresh, `staleForMs` reports the list stale. */
  readonly staleMaxMs: number;
  readonly now?: () => number;
  readonly onStaleRefusal?: () => void;
}

interface Revoked {
  readonly generation: number;
  readonly disabled: boolean;
}

export class ClientRevocations implements RevocationCheck {
  private revoked = new Map<string, Revoked>();
  private loadedChangeId = -1n;
  private running: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: Promise<{ unlisten(): Promise<void> }> | undefined;

  private currentAtMs: number;
  private readonly now: () => number;

  constructor(
    private readonly sql: Sql,
    private readonly log: Pick<Logger, 'info' | 'warn'>,
    private readonly options: RevocationOptions = { staleMaxMs: 15_000 },
  ) {
    this.now = options.now ?? (() => performance.now());
    this.currentAtMs = this.now();
  }

  staleForMs(): number | undefined {
    const age = this.now() - this.currentAtMs;
    if (age <= this.options.staleMaxMs) return undefined;
    this.options.onStaleRefusal?.();
    return age;
  }

  refusal(clientId: string, generation: number): RevocationReason | undefined {
    const revoked = this.revoked.get(clientId);
    if (!revoked || generation >= revoked.generation) return undefined;
    return revoked.disabled ? 'client disabled' : 'token generation revoked';
  }

  /** Loads the list (failing start-up if the database cannot answer), then listens and polls. */
  async start(): Promise<void> {
    await this.load();
    this.listener = this.sql.listen(
      clientAccessChannel,
      () => void this.refresh(),
      // Called on every (re)connect of the listening connection: catch up on what was missed.
      () => void this.refresh(),
    );
    this.listener.catch((error: unknown) => {
      this.log.warn({ err: error }, 'LISTEN for client revocations failed; polling only');
    });
    this.timer = setInterval(() => void this.refresh(), revocationsPollMs);
    this.timer.unref();
  }

  /** Rereads the list if a change was committed since the last load; runs never overlap. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const listener = await this.listener?.catch(() => undefined);
    await listener?.unlisten().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private async refreshOnce(): Promise<void> {
    try {
      const startedMs = this.now();
      if ((await latestClientAccessChangeId(this.sql)) !== this.loadedChangeId) await this.load();
      // Current as of when this check started (a change committed later is caught next time).
      this.currentAtMs = startedMs;
      if (this.failing) this.log.info({}, 'client revocation list current again');
      this.failing = false;
    } catch (error) {
      // Keep serving with the list as last read for up to staleMaxMs, then refuse tokens with 503
      // (staleForMs); say so once.
      if (!this.failing)
        this.log.warn(
          { err: error, staleMaxMs: this.options.staleMaxMs },
          'cannot refresh client revocations; using the last list until it is too old',
        );
      this.failing = true;
    }
  }

  private async load(): Promise<void> {
    const startedMs = this.now();
    // The change id first: a change committed after it is read makes the next poll load again.
    const changeId = await latestClientAccessChangeId(this.sql);
    const rows = await findRevokedGenerations(this.sql);
    const next = new Map<string, Revoked>();
    for (const row of rows)
      next.set(row.clientId, { generation: row.tokenGeneration, disabled: row.disabled });
    this.revoked = next;
    this.loadedChangeId = changeId;
    this.currentAtMs = startedMs;
  }
}
