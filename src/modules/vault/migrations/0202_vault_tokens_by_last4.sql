-- The dashboard's payment search by card last 4 asks the vault for a merchant's tokens ending in
-- those digits (describe-token.ts, tokensEndingIn); this index answers it without a scan.
create index card_tokens_merchant_last4 on vault.card_tokens (merchant_id, last4);
