-- Access tokens. The secret itself is never stored: only its SHA-256 and its last four characters.
CREATE TABLE access_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Canonical scopes: ingest, ingest:source:<uuid>, query, query:endpoint:<uuid>, management.
    scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    hint text NOT NULL CHECK (length(hint) = 4),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT access_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX access_tokens_account_created_idx ON access_tokens (account_id, created_at);
