// The fraud screening beside the vault (ADR 31): an authorization needs both the screening's decision
// and the card's credentials before the acquirer, and neither needs the other, so they run at once.
// The screening's velocity round trip then costs the authorization only what it lasts beyond the
// vault's detokenize. A blocked payment has had its credentials read (and its one-time CVC taken, as
// an acquirer decline would) but never reaches the acquirer.
import type { ScreenedRisk } from './ports.ts';

export interface ScreenedBesideVault<C> {
  readonly risk: ScreenedRisk | undefined;
  /** The vault's credentials; undefined when the method needs none or the screening blocked. */
  readonly credentials: C | undefined;
  /**
   * Seconds the authorization waited for the screening beyond what it waits anyway (issue 13's
   * "adds to authorize"): the screening's synchronous start, plus the time from the credentials in
   * hand to the decision in hand (0 when the decision came first). Without credentials to fetch, the
   * whole screening.
   */
  readonly addedSeconds: number;
}

const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;

/**
 * Starts the screening, then the vault's credentials, and waits for both (a block waits for the
 * vault's answer too, so its release is recorded before the payment is stored FAILED, and nothing
 * of this request is still running after its answer). A vault error is the request's error unless
 * the screening blocked; a screening error is the request's error either way.
 */
export async function screenBesideVault<C>(
  screen: () => Promise<ScreenedRisk | undefined>,
  credentials: (() => Promise<C>) | undefined,
): Promise<ScreenedBesideVault<C>> {
  const started = process.hrtime.bigint();
  const screening = screen();
  const launched = process.hrtime.bigint();
  let credentialsAt: bigint | undefined;
  const fetching = credentials?.().finally(() => {
    credentialsAt = process.hrtime.bigint();
  });
  const settled = fetching?.then(
    () => undefined,
    () => undefined,
  );
  let risk: ScreenedRisk | undefined;
  try {
    risk = await screening;
  } catch (error) {
    await settled;
    throw error;
  }
  const decidedAt = process.hrtime.bigint();
  const addedSeconds =
    fetching === undefined
      ? seconds(started, decidedAt)
      : seconds(started, launched) + (credentialsAt === undefined ? 0 : seconds(credentialsAt, decidedAt));
  if (risk?.decision === 'block') {
    await settled;
    return { risk, credentials: undefined, addedSeconds };
  }
  return { risk, credentials: await fetching, addedSeconds };
}
