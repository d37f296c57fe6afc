-- Usage you can see: requests and 429s per token per UTC hour, and the client addresses and browser
-- origins behind them. Instances count in memory and add their counts in the usage flush, as for
-- token_usage_daily: no request pays for a write. Both tables are short-lived (the console shows 48
-- hours and one day); the flusher deletes older rows about once an hour. Hours are truncated in
-- UTC explicitly: date_trunc follows the session's TimeZone, and one half an hour off UTC (India,
-- Newfoundland) would otherwise refuse every row.
CREATE TABLE token_usage_hourly (
    token_id uuid NOT NULL REFERENCES access_tokens (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    requests bigint NOT NULL CHECK (requests >= 0),
    rate_limited bigint NOT NULL DEFAULT 0 CHECK (rate_limited >= 0),
    PRIMARY KEY (token_id, hour)
);
CREATE INDEX token_usage_hourly_hour_idx ON token_usage_hourly (hour);

-- One row per token, hour, kind and value, about 32 values per token, hour and kind (32, plus up to
-- 16 more from each instance flushing at the same moment; the flush counts the rest under the empty
-- value ''), so rotating addresses cannot grow the table without bound. Values are client addresses as the trusted-proxy resolution found them, or origins of
-- printable ASCII of at most 200 bytes.
CREATE TABLE token_clients_hourly (
    token_id uuid NOT NULL REFERENCES access_tokens (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    kind text NOT NULL CHECK (kind IN ('address', 'origin')),
    value text NOT NULL CHECK (octet_length(value) <= 200),
    requests bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (token_id, hour, kind, value)
);
CREATE INDEX token_clients_hourly_hour_idx ON token_clients_hourly (hour);

-- A change to the account's default rate limit is audited like a token change.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN (
    'token.created', 'token.revoked', 'token.rolled', 'token.updated', 'token.disabled', 'token.enabled',
    'account.updated',
    'source.created', 'source.updated', 'source.deleted',
    'endpoint.created', 'endpoint.updated', 'endpoint.deleted',
    'user.signed_in', 'user.sign_in_failed'));

CREATE VIEW reporting.token_usage_hourly AS
SELECT u.token_id, t.account_id, u.hour, u.requests, u.rate_limited
FROM public.token_usage_hourly u
JOIN public.access_tokens t ON t.id = u.token_id;
COMMENT ON VIEW reporting.token_usage_hourly IS 'Requests per token per UTC hour, kept for 72 hours.';
COMMENT ON COLUMN reporting.token_usage_hourly.token_id IS 'Token id.';
COMMENT ON COLUMN reporting.token_usage_hourly.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.token_usage_hourly.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN reporting.token_usage_hourly.requests IS 'Requests authenticated by the token that hour, summed over every instance.';
COMMENT ON COLUMN reporting.token_usage_hourly.rate_limited IS 'Requests refused by the token''s rate limit (429) that hour.';

CREATE VIEW reporting.token_clients_hourly AS
SELECT c.token_id, t.account_id, c.hour, c.kind, nullif(c.value, '') AS value, c.requests
FROM public.token_clients_hourly c
JOIN public.access_tokens t ON t.id = c.token_id;
COMMENT ON VIEW reporting.token_clients_hourly IS 'Client addresses and browser origins per token per UTC hour, kept for 48 hours.';
COMMENT ON COLUMN reporting.token_clients_hourly.token_id IS 'Token id.';
COMMENT ON COLUMN reporting.token_clients_hourly.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.token_clients_hourly.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN reporting.token_clients_hourly.kind IS 'address (the client address after trusted proxies) or origin (Origin, else the origin of Referer).';
COMMENT ON COLUMN reporting.token_clients_hourly.value IS 'The address or origin; NULL counts the others (past 32 distinct values in the hour, or an unprintable origin).';
COMMENT ON COLUMN reporting.token_clients_hourly.requests IS 'Requests (accepted or refused by the rate limit) from it that hour.';

GRANT SELECT ON reporting.token_usage_hourly, reporting.token_clients_hourly TO keyflare_reporting;
