-- Token-signing private keys sealed at rest (ADR 16): private_jwk_sealed holds the private JWK sealed
-- with the platform secrets key (AES-256-GCM, bound to identity.signing_keys/<kid>/private_jwk_sealed).
-- SQL cannot encrypt, so rows written before this migration keep their clear private_jwk until the
-- identity module seals them at start and nulls the clear column; new keys are only ever written
-- sealed. A row holds its private key in exactly one of the two columns.
alter table identity.signing_keys
  alter column private_jwk drop not null,
  add column private_jwk_sealed text check (private_jwk_sealed ~ '^pfs1\.[A-Za-z0-9_.-]+$'),
  add constraint signing_keys_private_key_once check ((private_jwk is null) <> (private_jwk_sealed is null));
