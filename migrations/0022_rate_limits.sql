-- Rate limits per token, with an account-wide default for tokens that set none, enforced by every
-- instance from a shared view of demand (see RateLimiter and RateLimitExchange).
ALTER TABLE access_tokens
    ADD COLUMN rate_limit_rps integer CHECK (rate_limit_rps BETWEEN 1 AND 1000000),
    ADD COLUMN rate_limit_burst integer CHECK (rate_limit_burst BETWEEN 1 AND 1000000),
    ADD COLUMN rate_limit_eps integer CHECK (rate_limit_eps BETWEEN 1 AND 1000000);
ALTER TABLE accounts
    ADD COLUMN default_rate_limit_rps integer CHECK (default_rate_limit_rps BETWEEN 1 AND 1000000),
    ADD COLUMN default_rate_limit_burst integer CHECK (default_rate_limit_burst BETWEEN 1 AND 1000000),
    ADD COLUMN default_rate_limit_eps integer CHECK (default_rate_limit_eps BETWEEN 1 AND 1000000);
COMMENT ON COLUMN access_tokens.rate_limit_rps IS 'Requests per second; NULL: the account default, if any.';
COMMENT ON COLUMN access_tokens.rate_limit_burst IS 'Requests above the rate that may come at once.';
COMMENT ON COLUMN access_tokens.rate_limit_eps IS 'Ingest events per second.';

-- What each instance is asked for, per limited token, every few hundred milliseconds; a row with
-- the nil token is the instance's heartbeat. UNLOGGED: it is rewritten all the time, is worth
-- nothing after a crash, and should write no WAL.
CREATE UNLOGGED TABLE rate_limit_demand (
    instance_id uuid NOT NULL,
    token_id uuid NOT NULL,
    requests real NOT NULL,
    events real NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, instance_id)
);

-- Requests refused by a rate limit, per token and day, beside those served.
ALTER TABLE token_usage_daily ADD COLUMN rate_limited bigint NOT NULL DEFAULT 0;

DROP TRIGGER access_tokens_notify_update ON access_tokens;
CREATE TRIGGER access_tokens_notify_update
    AFTER UPDATE ON access_tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.scopes IS DISTINCT FROM NEW.scopes
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
          OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
          OR OLD.allowed_ips IS DISTINCT FROM NEW.allowed_ips
          OR OLD.allowed_origins IS DISTINCT FROM NEW.allowed_origins
          OR OLD.require_origin IS DISTINCT FROM NEW.require_origin
          OR OLD.rate_limit_rps IS DISTINCT FROM NEW.rate_limit_rps
          OR OLD.rate_limit_burst IS DISTINCT FROM NEW.rate_limit_burst
          OR OLD.rate_limit_eps IS DISTINCT FROM NEW.rate_limit_eps)
    EXECUTE FUNCTION keyflare_notify_token_change();

-- A changed account default changes every cached token of the account that sets no limit.
CREATE TRIGGER accounts_notify_rate_limit
    AFTER UPDATE ON accounts
    FOR EACH ROW
    WHEN (OLD.default_rate_limit_rps IS DISTINCT FROM NEW.default_rate_limit_rps
          OR OLD.default_rate_limit_burst IS DISTINCT FROM NEW.default_rate_limit_burst
          OR OLD.default_rate_limit_eps IS DISTINCT FROM NEW.default_rate_limit_eps)
    EXECUTE FUNCTION keyflare_notify_token_flush();

CREATE OR REPLACE VIEW reporting.access_tokens AS
SELECT t.id, t.account_id, a.name AS account_name, t.description, t.scopes,
       CASE WHEN 'management' = ANY (t.scopes) THEN 'private' ELSE 'public' END AS type,
       t.hint, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
       CASE
           WHEN t.revoked_at IS NOT NULL THEN 'revoked'
           WHEN t.expires_at IS NOT NULL AND t.expires_at <= now() THEN 'expired'
           WHEN t.disabled_at IS NOT NULL THEN 'disabled'
           ELSE 'active'
       END AS status,
       t.disabled_at, t.allowed_ips::text[] AS allowed_ips, t.allowed_origins, t.require_origin,
       coalesce(t.rate_limit_rps, a.default_rate_limit_rps) AS rate_limit_rps,
       CASE WHEN t.rate_limit_rps IS NOT NULL THEN coalesce(t.rate_limit_burst, t.rate_limit_rps)
            ELSE coalesce(a.default_rate_limit_burst, a.default_rate_limit_rps) END AS rate_limit_burst,
       CASE WHEN t.rate_limit_rps IS NOT NULL THEN t.rate_limit_eps ELSE a.default_rate_limit_eps END AS rate_limit_eps
FROM public.access_tokens t
JOIN public.accounts a ON a.id = t.account_id;
COMMENT ON COLUMN reporting.access_tokens.rate_limit_rps IS 'Requests per second in force (the token''s own, else the account default); NULL for none.';
COMMENT ON COLUMN reporting.access_tokens.rate_limit_burst IS 'Burst in force.';
COMMENT ON COLUMN reporting.access_tokens.rate_limit_eps IS 'Ingest events per second in force; NULL for none.';

CREATE OR REPLACE VIEW reporting.token_usage_daily AS
SELECT u.token_id, t.account_id, u.day, u.requests, u.rate_limited
FROM public.token_usage_daily u
JOIN public.access_tokens t ON t.id = u.token_id;
COMMENT ON COLUMN reporting.token_usage_daily.rate_limited IS 'Requests refused by the token''s rate limit that day (429), summed over every instance.';
