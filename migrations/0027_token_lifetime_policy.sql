-- An account's token lifetime policy: a longest lifetime in days, and whether tokens must expire
-- (a longest lifetime implies it). Checked when a token is made; tokens made before stay as they
-- are and are listed as over the policy.
ALTER TABLE accounts
    ADD COLUMN max_token_lifetime_days integer CHECK (max_token_lifetime_days BETWEEN 1 AND 3650),
    ADD COLUMN token_expiry_required boolean NOT NULL DEFAULT false;

CREATE OR REPLACE VIEW reporting.accounts_token_policy AS
SELECT a.id AS account_id, a.name AS account_name, a.max_token_lifetime_days,
       a.token_expiry_required OR a.max_token_lifetime_days IS NOT NULL AS expiry_required,
       (SELECT count(*) FROM public.access_tokens t
        WHERE t.account_id = a.id AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
          AND ((t.expires_at IS NULL AND (a.token_expiry_required OR a.max_token_lifetime_days IS NOT NULL))
               OR t.expires_at - t.created_at > make_interval(days => a.max_token_lifetime_days))) AS tokens_over_policy
FROM public.accounts a;
COMMENT ON VIEW reporting.accounts_token_policy IS 'Each account''s token lifetime policy and how many of its live tokens break it (made before it).';
COMMENT ON COLUMN reporting.accounts_token_policy.account_id IS 'Account id.';
COMMENT ON COLUMN reporting.accounts_token_policy.account_name IS 'Account name.';
COMMENT ON COLUMN reporting.accounts_token_policy.max_token_lifetime_days IS 'Longest lifetime of a new token, in days; NULL for no limit.';
COMMENT ON COLUMN reporting.accounts_token_policy.expiry_required IS 'Whether new tokens must expire.';
COMMENT ON COLUMN reporting.accounts_token_policy.tokens_over_policy IS 'Live tokens (not revoked, not expired) that never expire although the policy requires it, or live longer than it allows.';
GRANT SELECT ON reporting.accounts_token_policy TO keyflare_reporting;
