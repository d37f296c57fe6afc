-- Signed webhooks: an account's receivers, the events that happened to its tokens, and one delivery
-- per event and receiver, retried until it is delivered or a day has passed.
--
-- The signing secret is kept as it was issued, in a column that only the service reads: an HMAC
-- needs the key itself, so a digest would be useless, and encrypting it with a key kept beside it
-- (in this database or in the same process) would add nothing. No reporting view selects it, and
-- no API answer after the creation one shows it.
CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (octet_length(url) <= 2048 AND url ~ '^https?://'),
    events text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 7 AND events <@ ARRAY[
        'token.expiring', 'token.expired', 'token.revoked', 'token.leaked', 'token.canary_used',
        'token.rate_limited', 'token.reused_after_roll']::text[]),
    secret text NOT NULL CHECK (secret ~ '^whsec_[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account_idx ON webhooks (account_id, created_at);

-- What happened, once, whatever the number of receivers. `bucket` makes the scheduler's events
-- idempotent: every instance may run the scheduler, and the unique key lets exactly one insert win
-- (7d:/1d: plus the expiry for warnings, the expiry for token.expired, the UTC hour for
-- token.rate_limited). Events from the audit log have no bucket (NULLs never collide).
CREATE TABLE webhook_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type IN (
        'token.expiring', 'token.expired', 'token.revoked', 'token.leaked', 'token.canary_used',
        'token.rate_limited', 'token.reused_after_roll')),
    token_id uuid,
    bucket text CHECK (octet_length(bucket) <= 100),
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX webhook_events_bucket_key ON webhook_events (token_id, type, bucket);
CREATE INDEX webhook_events_created_idx ON webhook_events (created_at);

-- The scheduler looks for tokens by expiry, a week ahead and a day back.
CREATE INDEX access_tokens_expires_idx ON access_tokens (expires_at) WHERE expires_at IS NOT NULL;

-- One row per event and receiver. An instance claims due rows with FOR UPDATE SKIP LOCKED, moving
-- next_attempt_at to the end of its lease in the same statement (so a crashed instance's claim
-- falls due again by itself), commits, and only then sends; the outcome is written only by the
-- claimant of that attempt (claimed_by, attempts).
CREATE TABLE webhook_deliveries (
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    claimed_by text CHECK (octet_length(claimed_by) <= 64),
    claimed_until timestamptz,
    last_status integer,
    last_error text CHECK (octet_length(last_error) <= 500),
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_next_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- Attempts in flight (a claim clears when its outcome is written): one receiver at a time.
CREATE INDEX webhook_deliveries_claimed_idx ON webhook_deliveries (webhook_id) WHERE claimed_until IS NOT NULL;
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Events recorded in the audit log become webhook events in the transaction that records them, so
-- a revoke and its webhook commit or roll back together, and no request does anything more for it.
-- It matches actions as text: those other migrations add (token.leaked, token.canary_used,
-- token.reused_after_roll) fire it once they exist, and their `detail`, if the column exists, is
-- passed on.
CREATE FUNCTION webhook_enqueue_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := NEW.action;
    new_event uuid;
    token record;
BEGIN
    -- A roll without grace revokes the old token in the same transaction: that is a token.revoked
    -- (marked "rolled"); a roll with grace is not (the old token's expiry is announced later).
    IF kind = 'token.rolled' THEN
        kind := 'token.revoked';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.account_id = NEW.account_id AND kind = ANY (w.events)) THEN
        RETURN NULL;
    END IF;
    SELECT t.id, t.description, t.hint, t.scopes, t.expires_at, t.revoked_at INTO token
    FROM access_tokens t WHERE t.id = NEW.target_id AND t.account_id = NEW.account_id;
    IF NEW.action = 'token.rolled' AND token.revoked_at IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (account_id, type, token_id, payload)
    VALUES (NEW.account_id, kind, NEW.target_id, jsonb_strip_nulls(jsonb_build_object(
        'token_id', NEW.target_id,
        'description', token.description,
        'hint', token.hint,
        'scopes', to_jsonb(token.scopes),
        'expires_at', token.expires_at,
        'revoked_at', token.revoked_at,
        'rolled', CASE WHEN NEW.action = 'token.rolled' THEN true END,
        'audit_event_id', NEW.id,
        'actor_type', NEW.actor_type,
        'actor_id', NEW.actor_id,
        'ip', NEW.ip,
        'user_agent', NEW.user_agent,
        'detail', to_jsonb(NEW) -> 'detail')))
    RETURNING id INTO new_event;
    INSERT INTO webhook_deliveries (webhook_id, event_id)
    SELECT w.id, new_event FROM webhooks w WHERE w.account_id = NEW.account_id AND kind = ANY (w.events);
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_webhooks AFTER INSERT ON audit_events FOR EACH ROW
    WHEN (NEW.action IN ('token.revoked', 'token.rolled', 'token.leaked', 'token.canary_used', 'token.reused_after_roll'))
    EXECUTE FUNCTION webhook_enqueue_audit_event();

CREATE VIEW reporting.webhooks AS
SELECT w.id, w.account_id, w.url, w.events, w.created_at,
       (SELECT count(*) FROM public.webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS pending,
       (SELECT count(*) FROM public.webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'failed') AS failed
FROM public.webhooks w;
COMMENT ON VIEW reporting.webhooks IS 'Webhook receivers, without their signing secrets.';
COMMENT ON COLUMN reporting.webhooks.id IS 'Webhook id (as in the API).';
COMMENT ON COLUMN reporting.webhooks.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.webhooks.url IS 'Where deliveries are POSTed.';
COMMENT ON COLUMN reporting.webhooks.events IS 'Event types it receives.';
COMMENT ON COLUMN reporting.webhooks.created_at IS 'Creation time.';
COMMENT ON COLUMN reporting.webhooks.pending IS 'Deliveries not yet made (waiting for their next attempt).';
COMMENT ON COLUMN reporting.webhooks.failed IS 'Deliveries given up on after a day of retries.';

CREATE VIEW reporting.webhook_deliveries AS
SELECT d.webhook_id, d.event_id, e.account_id, e.type, e.token_id, d.status, d.attempts, d.last_status, d.last_error,
       d.created_at, d.last_attempt_at, d.next_attempt_at, d.delivered_at
FROM public.webhook_deliveries d
JOIN public.webhook_events e ON e.id = d.event_id;
COMMENT ON VIEW reporting.webhook_deliveries IS 'One row per webhook event and receiver: its delivery state.';
COMMENT ON COLUMN reporting.webhook_deliveries.webhook_id IS 'Receiving webhook.';
COMMENT ON COLUMN reporting.webhook_deliveries.event_id IS 'Event id (Keyflare-Webhook-Id, and "id" in the body).';
COMMENT ON COLUMN reporting.webhook_deliveries.account_id IS 'Owning account.';
COMMENT ON COLUMN reporting.webhook_deliveries.type IS 'Event type, such as token.revoked.';
COMMENT ON COLUMN reporting.webhook_deliveries.token_id IS 'The token the event is about.';
COMMENT ON COLUMN reporting.webhook_deliveries.status IS 'pending, delivered (the receiver answered 2xx) or failed (retried for a day).';
COMMENT ON COLUMN reporting.webhook_deliveries.attempts IS 'Requests made (or begun) so far.';
COMMENT ON COLUMN reporting.webhook_deliveries.last_status IS 'HTTP status of the last answer; NULL when there was none.';
COMMENT ON COLUMN reporting.webhook_deliveries.last_error IS 'Why the last attempt failed; NULL after a success.';
COMMENT ON COLUMN reporting.webhook_deliveries.created_at IS 'When the event was enqueued for this receiver.';
COMMENT ON COLUMN reporting.webhook_deliveries.last_attempt_at IS 'When the last attempt began.';
COMMENT ON COLUMN reporting.webhook_deliveries.next_attempt_at IS 'When it is due next (or its claim ends), while pending.';
COMMENT ON COLUMN reporting.webhook_deliveries.delivered_at IS 'When the receiver accepted it.';

GRANT SELECT ON reporting.webhooks, reporting.webhook_deliveries TO keyflare_reporting;
