-- Web console sessions. The cookie holds a random secret; only its SHA-256 is stored, so a copy of
-- this table cannot be used to sign in. Any instance serves any session, and signing out deletes the
-- row, which ends the session everywhere at once.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Carried by every state-changing form of this session.
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Failed sign-ins, for rate limiting per email and per client address across every instance.
CREATE TABLE sign_in_failures (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    ip text,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email_idx ON sign_in_failures (email, failed_at);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (ip, failed_at);
