-- Token lifecycle tripwires: leaked-token reports from a secret scanner, canary tokens that grant
-- nothing and report their use, and a rolled token presented after its grace period.

-- A canary looks like any token (its scopes are a decoy) but every use is refused exactly as an
-- unknown token is, and recorded. rolled_at marks a token that was replaced by a roll, so that
-- its use after the grace period can be told apart from an ordinary expired token.
ALTER TABLE access_tokens
    ADD COLUMN canary boolean NOT NULL DEFAULT false,
    ADD COLUMN rolled_at timestamptz;
COMMENT ON COLUMN access_tokens.canary IS 'true: a canary, which grants nothing; any use is refused as unknown and audited as token.canary_used.';
COMMENT ON COLUMN access_tokens.rolled_at IS 'When a roll replaced this token; a use after its grace period is audited as token.reused_after_roll.';

-- Making a token a canary (or not) changes what it may do.
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
          OR OLD.rate_limit_eps IS DISTINCT FROM NEW.rate_limit_eps
          OR OLD.canary IS DISTINCT FROM NEW.canary
          OR OLD.rolled_at IS DISTINCT FROM NEW.rolled_at)
    EXECUTE FUNCTION keyflare_notify_token_change();

-- What an event needs beyond who and what: the leak report's URL, the canary's route and origin.
-- Small by construction (Keyflare cuts every value), never a secret.
ALTER TABLE audit_events ADD COLUMN detail jsonb;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN (
    'token.created', 'token.revoked', 'token.rolled', 'token.updated', 'token.disabled', 'token.enabled',
    'token.leaked', 'token.canary_used', 'token.reused_after_roll',
    'account.updated',
    'source.created', 'source.updated', 'source.deleted',
    'endpoint.created', 'endpoint.updated', 'endpoint.deleted',
    'user.signed_in', 'user.sign_in_failed'));
-- 'scanner': a signed leak report from a secret-scanning service.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_type_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_type_check CHECK (actor_type IN ('token', 'user', 'operator', 'scanner'));

-- Leak reports already handled, by the SHA-256 of their signed body: the same signed report sent
-- again is a replay (409). Written in the transaction that revokes, so a report that failed half
-- way can be sent again.
CREATE TABLE token_leak_reports (
    body_digest bytea PRIMARY KEY CHECK (length(body_digest) = 32),
    key_identifier text NOT NULL,
    tokens integer NOT NULL,
    ours integer NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_leak_reports_received_idx ON token_leak_reports (received_at);

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
       CASE WHEN t.rate_limit_rps IS NOT NULL THEN t.rate_limit_eps ELSE a.default_rate_limit_eps END AS rate_limit_eps,
       t.canary, t.rolled_at
FROM public.access_tokens t
JOIN public.accounts a ON a.id = t.account_id;
COMMENT ON COLUMN reporting.access_tokens.canary IS 'true: a canary token, which grants nothing and reports every use.';
COMMENT ON COLUMN reporting.access_tokens.rolled_at IS 'When a roll replaced it; NULL if never rolled.';

CREATE OR REPLACE VIEW reporting.audit_events AS
SELECT id, account_id, actor_type, actor_id, action, target_type, target_id, ip, user_agent, created_at, detail
FROM public.audit_events;
COMMENT ON COLUMN reporting.audit_events.actor_type IS 'token (API), user (web console), operator (CLI) or scanner (a signed leak report).';
COMMENT ON COLUMN reporting.audit_events.action IS 'token.created|revoked|rolled|updated|disabled|enabled|leaked|canary_used|reused_after_roll, account.updated, source.*, endpoint.*, user.signed_in, user.sign_in_failed.';
COMMENT ON COLUMN reporting.audit_events.detail IS 'What else the event carries: a leak report''s url, source and type; a canary''s or a rolled token''s route and origin. Never a secret.';

-- A canary grants nothing, and no lifetime policy applies to it: it is never "over policy".
CREATE OR REPLACE VIEW reporting.accounts_token_policy AS
SELECT a.id AS account_id, a.name AS account_name, a.max_token_lifetime_days,
       a.token_expiry_required OR a.max_token_lifetime_days IS NOT NULL AS expiry_required,
       (SELECT count(*) FROM public.access_tokens t
        WHERE t.account_id = a.id AND t.revoked_at IS NULL AND NOT t.canary AND (t.expires_at IS NULL OR t.expires_at > now())
          AND ((t.expires_at IS NULL AND (a.token_expiry_required OR a.max_token_lifetime_days IS NOT NULL))
               OR t.expires_at - t.created_at > make_interval(days => a.max_token_lifetime_days))) AS tokens_over_policy
FROM public.accounts a;
COMMENT ON COLUMN reporting.accounts_token_policy.tokens_over_policy IS 'Live tokens (not revoked, not expired, not canaries) that never expire although the policy requires it, or live longer than it allows.';
