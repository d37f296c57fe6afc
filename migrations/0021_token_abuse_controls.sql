-- Abuse controls per token: disable and enable (reversible, unlike revocation), and where a token
-- may be used from: client networks (allowed_ips) and, for pages, web origins (allowed_origins,
-- require_origin). The values are checked by Keyflare before they are stored; cidr refuses host
-- bits past the prefix here too, for an operator's plain SQL.
ALTER TABLE access_tokens
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN allowed_ips cidr[] NOT NULL DEFAULT '{}',
    ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}',
    ADD COLUMN require_origin boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN access_tokens.disabled_at IS 'When the token was disabled; NULL when it is enabled. Disabled tokens are refused (401) until enabled.';
COMMENT ON COLUMN access_tokens.allowed_ips IS 'Client networks the token may be used from; empty for any.';
COMMENT ON COLUMN access_tokens.allowed_origins IS 'Web origins (https://app.example.com, https://*.example.com) pages may use it from; empty for any.';
COMMENT ON COLUMN access_tokens.require_origin IS 'true: a request must carry Origin or Referer.';

-- Each of these changes what a token may do, so each is announced to every instance's cache.
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
          OR OLD.require_origin IS DISTINCT FROM NEW.require_origin)
    EXECUTE FUNCTION keyflare_notify_token_change();

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN (
    'token.created', 'token.revoked', 'token.rolled', 'token.updated', 'token.disabled', 'token.enabled',
    'source.created', 'source.updated', 'source.deleted',
    'endpoint.created', 'endpoint.updated', 'endpoint.deleted',
    'user.signed_in', 'user.sign_in_failed'));

-- The reporting view gets the new state and settings (appended: CREATE OR REPLACE keeps the
-- columns before them as they were).
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
       t.disabled_at, t.allowed_ips::text[] AS allowed_ips, t.allowed_origins, t.require_origin
FROM public.access_tokens t
JOIN public.accounts a ON a.id = t.account_id;
COMMENT ON COLUMN reporting.access_tokens.status IS 'active, disabled, expired or revoked, now.';
COMMENT ON COLUMN reporting.access_tokens.disabled_at IS 'When it was disabled; NULL when enabled.';
COMMENT ON COLUMN reporting.access_tokens.allowed_ips IS 'Client networks it may be used from; empty for any.';
COMMENT ON COLUMN reporting.access_tokens.allowed_origins IS 'Web origins pages may use it from; empty for any.';
COMMENT ON COLUMN reporting.access_tokens.require_origin IS 'true: only requests carrying Origin or Referer.';
