// inquireThenSend per continuation mode (ADR 9, ADR 34): a request sends; a retry or the janitor asks
// first and sends again only when the acquirer recorded nothing; an operator's resolution asks and
// never sends (no record is the decline `acquirer_no_record`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContinuationMode } from './dependencies.ts';
import { inquireThenSend, noRecordDecline } from './key-steps.ts';
import type { InquiryOutcome } from './ports.ts';

type Outcome = { readonly type: 'approved' } | { readonly type: 'declined'; readonly declineCode: string };

async function run(mode: ContinuationMode, inquiry: InquiryOutcome<Outcome>) {
  const calls = { inquiries: 0, sends: 0 };
  const outcome = await inquireThenSend<Outcome>(
    mode,
    async () => {
      calls.inquiries += 1;
      return inquiry;
    },
    async () => {
      calls.sends += 1;
      return { type: 'approved' };
    },
  );
  return { outcome, calls };
}

test('an operator resolution asks once and never sends: no record is acquirer_no_record', async () => {
  const noRecord = await run('operator', { type: 'not_found' });
  assert.deepEqual(noRecord, { outcome: noRecordDecline, calls: { inquiries: 1, sends: 0 } });
  const found = await run('operator', { type: 'found', outcome: { type: 'approved' } });
  assert.deepEqual(found, { outcome: { type: 'approved' }, calls: { inquiries: 1, sends: 0 } });
  const unanswered = await run('operator', { type: 'unknown', reason: 'timeout' });
  assert.deepEqual(unanswered, {
    outcome: { type: 'unknown', reason: 'timeout' },
    calls: { inquiries: 1, sends: 0 },
  });
});

test('a retry or the janitor sends again under the reference only when the acquirer recorded nothing', async () => {
  for (const mode of ['retry', 'janitor'] as const) {
    assert.deepEqual(await run(mode, { type: 'not_found' }), {
      outcome: { type: 'approved' },
      calls: { inquiries: 1, sends: 1 },
    });
  }
  assert.deepEqual(await run('request', { type: 'not_found' }), {
    outcome: { type: 'approved' },
    calls: { inquiries: 0, sends: 1 },
  });
});
