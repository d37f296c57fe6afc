-- Single-tenant installs (KEYFLARE_SINGLE_TENANT=true): which account is the default one, and
-- which of its tokens were seeded from KEYFLARE_PUBLIC_ACCESS_TOKEN / KEYFLARE_PRIVATE_ACCESS_TOKEN.
CREATE TABLE single_tenant (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- 'public' or 'private' for a token seeded from the environment; NULL for every other token.
ALTER TABLE access_tokens ADD COLUMN seeded_as text CHECK (seeded_as IN ('public', 'private'));

-- At most one live seeded token of each kind.
CREATE UNIQUE INDEX access_tokens_seeded_live_idx ON access_tokens (seeded_as)
    WHERE seeded_as IS NOT NULL AND revoked_at IS NULL;
