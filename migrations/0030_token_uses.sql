-- What each token was used for, per UTC day: ingest into which source, queries of which endpoint,
-- management calls. Written by the usage flusher with the other counts (no write per request);
-- read by the least-privilege suggestions; kept 90 days.
CREATE TABLE token_uses_daily (
    token_id uuid NOT NULL REFERENCES access_tokens (id) ON DELETE CASCADE,
    day date NOT NULL,
    -- 'ingest:<source id>', 'query:<endpoint id>', 'management', or 'others' past a tally's bound.
    use text NOT NULL CHECK (use ~ '^(ingest:[0-9a-f-]{36}|query:[0-9a-f-]{36}|management|others)$'),
    requests bigint NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (token_id, day, use)
);
CREATE INDEX token_uses_daily_day_idx ON token_uses_daily (day);

CREATE VIEW reporting.token_uses_daily AS
SELECT u.token_id, t.account_id, u.day, u.use, u.requests
FROM public.token_uses_daily u JOIN public.access_tokens t ON t.id = u.token_id;
COMMENT ON VIEW reporting.token_uses_daily IS 'What each token was used for, per UTC day: the sources it sent to, the endpoints it ran, management calls; kept 90 days.';
COMMENT ON COLUMN reporting.token_uses_daily.token_id IS 'Token id.';
COMMENT ON COLUMN reporting.token_uses_daily.account_id IS 'Account id.';
COMMENT ON COLUMN reporting.token_uses_daily.day IS 'UTC day.';
COMMENT ON COLUMN reporting.token_uses_daily.use IS 'ingest:<source id>, query:<endpoint id>, management, or others (past 16 distinct uses in one flush).';
COMMENT ON COLUMN reporting.token_uses_daily.requests IS 'Accepted requests of that use.';
GRANT SELECT ON reporting.token_uses_daily TO keyflare_reporting;
