-- Plain-SQL reporting for operators: a schema of views, and a role that can read them and nothing
-- else. The views leave out token hashes, password hashes, sessions and sandbox credentials.
CREATE SCHEMA reporting;

CREATE VIEW reporting.access_tokens AS
SELECT t.id, t.account_id, a.name AS account_name, t.description, t.scopes,
       CASE WHEN 'management' = ANY (t.scopes) THEN 'private' ELSE 'public' END AS type,
       t.hint, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
       CASE
           WHEN t.revoked_at IS NOT NULL THEN 'revoked'
           WHEN t.expires_at IS NOT NULL AND t.expires_at <= now() THEN 'expired'
           ELSE 'active'
       END AS status
FROM public.access_tokens t
JOIN public.accounts a ON a.id = t.account_id;
COMMENT ON VIEW reporting.access_tokens IS 'Every access token, without its hash. One row per token.';
COMMENT ON COLUMN reporting.access_tokens.id IS 'Token id (as in the API).';
COMMENT ON COLUMN reporting.access_tokens.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.access_tokens.account_name IS 'Owning account''s name.';
COMMENT ON COLUMN reporting.access_tokens.description IS 'Free text given at creation.';
COMMENT ON COLUMN reporting.access_tokens.scopes IS 'Canonical scopes: ingest, ingest:source:<id>, query, query:endpoint:<id>, management.';
COMMENT ON COLUMN reporting.access_tokens.type IS 'private (has management) or public.';
COMMENT ON COLUMN reporting.access_tokens.hint IS 'Last four characters of the secret.';
COMMENT ON COLUMN reporting.access_tokens.created_at IS 'Creation time.';
COMMENT ON COLUMN reporting.access_tokens.expires_at IS 'When it stops working; NULL for never.';
COMMENT ON COLUMN reporting.access_tokens.revoked_at IS 'When it was revoked; NULL if it was not.';
COMMENT ON COLUMN reporting.access_tokens.last_used_at IS 'Last successful use, as of the last usage flush (at most about 10 s behind).';
COMMENT ON COLUMN reporting.access_tokens.status IS 'active, expired or revoked, now.';

CREATE VIEW reporting.token_usage_daily AS
SELECT u.token_id, t.account_id, u.day, u.requests
FROM public.token_usage_daily u
JOIN public.access_tokens t ON t.id = u.token_id;
COMMENT ON VIEW reporting.token_usage_daily IS 'Successful requests per token per UTC day.';
COMMENT ON COLUMN reporting.token_usage_daily.token_id IS 'Token id.';
COMMENT ON COLUMN reporting.token_usage_daily.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.token_usage_daily.day IS 'UTC day.';
COMMENT ON COLUMN reporting.token_usage_daily.requests IS 'Requests authenticated by the token that day, summed over every instance.';

CREATE VIEW reporting.audit_events AS
SELECT id, account_id, actor_type, actor_id, action, target_type, target_id, ip, user_agent, created_at
FROM public.audit_events;
COMMENT ON VIEW reporting.audit_events IS 'Who changed what: one row per change, written with the change itself.';
COMMENT ON COLUMN reporting.audit_events.id IS 'Event id.';
COMMENT ON COLUMN reporting.audit_events.account_id IS 'Account the change belongs to.';
COMMENT ON COLUMN reporting.audit_events.actor_type IS 'token (API), user (web console) or operator (CLI).';
COMMENT ON COLUMN reporting.audit_events.actor_id IS 'Token id or user id; NULL for operator.';
COMMENT ON COLUMN reporting.audit_events.action IS 'token.created|revoked|rolled, source.*, endpoint.*, user.signed_in, user.sign_in_failed.';
COMMENT ON COLUMN reporting.audit_events.target_type IS 'Kind of thing changed: token, source, endpoint or user.';
COMMENT ON COLUMN reporting.audit_events.target_id IS 'Id of the thing changed.';
COMMENT ON COLUMN reporting.audit_events.ip IS 'Client address as seen by the instance.';
COMMENT ON COLUMN reporting.audit_events.user_agent IS 'Client User-Agent header.';
COMMENT ON COLUMN reporting.audit_events.created_at IS 'When it happened.';

CREATE VIEW reporting.sources AS
SELECT s.id, s.account_id, s.name, s.created_at,
       (SELECT count(*) FROM public.events e WHERE e.source_id = s.id) AS event_count,
       (SELECT max(e."timestamp") FROM public.events e WHERE e.source_id = s.id) AS newest_event_at
FROM public.sources s;
COMMENT ON VIEW reporting.sources IS 'Sources with their event counts and newest event time.';
COMMENT ON COLUMN reporting.sources.id IS 'Source id.';
COMMENT ON COLUMN reporting.sources.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.sources.name IS 'Name, unique in the account.';
COMMENT ON COLUMN reporting.sources.created_at IS 'Creation time.';
COMMENT ON COLUMN reporting.sources.event_count IS 'Events stored now.';
COMMENT ON COLUMN reporting.sources.newest_event_at IS 'Timestamp of the newest event; NULL when empty.';

CREATE VIEW reporting.ingest_daily AS
SELECT e.account_id, e.source_id, s.name AS source_name, (e.ingested_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS events
FROM public.events e
JOIN public.sources s ON s.id = e.source_id
GROUP BY e.account_id, e.source_id, s.name, (e.ingested_at AT TIME ZONE 'UTC')::date;
COMMENT ON VIEW reporting.ingest_daily IS 'Events ingested per source per UTC day (by arrival time).';
COMMENT ON COLUMN reporting.ingest_daily.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.ingest_daily.source_id IS 'Source id.';
COMMENT ON COLUMN reporting.ingest_daily.source_name IS 'Source name.';
COMMENT ON COLUMN reporting.ingest_daily.day IS 'UTC day the events arrived.';
COMMENT ON COLUMN reporting.ingest_daily.events IS 'Events stored that day and still present.';

-- The role is cluster-wide, so it may exist already (another Keyflare database in the cluster),
-- or be being created right now by another database's migration: the advisory lock that serialises
-- migrations is per database, so a concurrent creation surfaces as a unique violation.
DO $$
BEGIN
    CREATE ROLE keyflare_reporting NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

REVOKE ALL ON SCHEMA reporting FROM PUBLIC;
GRANT USAGE ON SCHEMA reporting TO keyflare_reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO keyflare_reporting;
