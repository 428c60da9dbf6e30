// The screening beside the vault (ADR 31): both run at once; a block wins over a vault error and
// hands over no credentials; otherwise the vault's error is the request's; what the screening adds
// is the time from the credentials in hand to the decision in hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScreenedRisk } from './ports.ts';
import { screenBesideVault } from './screening-beside-vault.ts';

function decided(decision: ScreenedRisk['decision']): ScreenedRisk {
  return {
    decision,
    score: 5,
    riskLevel: 'normal',
    reasons: [],
    rulesetVersion: 1,
    save: async () => undefined,
  };
}

test('the vault is asked while the screening runs, not after it', async () => {
  let vaultAsked!: () => void;
  const asked = new Promise<void>((resolve) => (vaultAsked = resolve));
  const result = await screenBesideVault(
    async () => {
      // Sequential steps would never get past this: the vault is asked only after the decision.
      await Promise.race([asked, sleep(2_000).then(() => assert.fail('the vault was not asked meanwhile'))]);
      return decided('allow');
    },
    async () => {
      vaultAsked();
      return 'credentials';
    },
  );
  assert.equal(result.credentials, 'credentials');
  assert.equal(result.risk?.decision, 'allow');
});

test('a block hands over no credentials, even when the vault failed, and waits for the vault to settle', async () => {
  let vaultSettled = false;
  const blocked = await screenBesideVault(
    async () => decided('block'),
    async () => {
      await sleep(20);
      vaultSettled = true;
      throw new Error('token_not_found');
    },
  );
  assert.equal(blocked.risk?.decision, 'block');
  assert.equal(blocked.credentials, undefined);
  assert.ok(vaultSettled, "the vault's call is over before the block is stored");
});

test("a payment not blocked fails with the vault's error; a screening error fails it once the vault settled", async () => {
  await assert.rejects(
    screenBesideVault(
      async () => decided('review'),
      async () => {
        throw new Error('vault down');
      },
    ),
    /vault down/,
  );
  let vaultSettled = false;
  await assert.rejects(
    screenBesideVault(
      async () => {
        throw new Error('rules unreadable');
      },
      async () => {
        await sleep(20);
        vaultSettled = true;
        return 'credentials';
      },
    ),
    /rules unreadable/,
  );
  assert.ok(vaultSettled);
});

test('what the screening adds: its time beyond the vault, nothing when the vault is slower, all of it without a vault call', async () => {
  // The timers' own moments, not their nominal delays: on a loaded machine both may fire together.
  let vaultDone = 0n;
  let screeningDone = 0n;
  const slowScreening = await screenBesideVault(
    async () => {
      await sleep(60);
      screeningDone = process.hrtime.bigint();
      return decided('allow');
    },
    async () => {
      await sleep(10);
      vaultDone = process.hrtime.bigint();
      return 'credentials';
    },
  );
  const beyond = Number(screeningDone - vaultDone) / 1e9;
  assert.ok(beyond > 0, 'the screening answered last');
  assert.ok(
    slowScreening.addedSeconds > beyond - 0.001 && slowScreening.addedSeconds < beyond + 0.005,
    `the ${beyond} s the screening took beyond the vault, not its whole 60 ms: ${slowScreening.addedSeconds}`,
  );
  const slowVault = await screenBesideVault(
    async () => {
      await sleep(10);
      return decided('allow');
    },
    async () => {
      await sleep(60);
      return 'credentials';
    },
  );
  assert.ok(slowVault.addedSeconds < 0.005, `hidden behind the vault: ${slowVault.addedSeconds}`);
  const alone = await screenBesideVault(async () => {
    await sleep(30);
    return decided('allow');
  }, undefined);
  assert.ok(alone.addedSeconds >= 0.029, `no vault call: all of it: ${alone.addedSeconds}`);
  assert.equal(alone.credentials, undefined);
});
