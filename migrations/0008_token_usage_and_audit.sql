-- Requests per token per UTC day. Instances count in memory and add their counts here in batches
-- (INSERT … ON CONFLICT DO UPDATE SET requests = requests + excluded.requests), so several instances
-- add up without lost updates and no request pays for a write.
CREATE TABLE token_usage_daily (
    token_id uuid NOT NULL REFERENCES access_tokens (id) ON DELETE CASCADE,
    day date NOT NULL,
    requests bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (token_id, day)
);

-- Who did what, written in the same transaction as the change it records. Never holds a secret.
CREATE TABLE audit_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- 'token' (an API call), 'user' (the web console) or 'operator' (the keyflare CLI).
    actor_type text NOT NULL CHECK (actor_type IN ('token', 'user', 'operator')),
    actor_id uuid,
    action text NOT NULL CHECK (action IN (
        'token.created', 'token.revoked', 'token.rolled',
        'source.created', 'source.updated', 'source.deleted',
        'endpoint.created', 'endpoint.updated', 'endpoint.deleted',
        'user.signed_in', 'user.sign_in_failed')),
    target_type text,
    target_id uuid,
    ip text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX audit_events_account_created_idx ON audit_events (account_id, created_at DESC, id DESC);
