-- Every running instance, for confirmed revocation: each writes its row about once a second, so a
-- revoke knows which instances must acknowledge it. UNLOGGED: rewritten every second, worthless
-- after a crash, and it should write no WAL.
CREATE UNLOGGED TABLE keyflare_instances (
    instance_id text PRIMARY KEY CHECK (instance_id ~ '^[0-9a-z_-]{1,64}$'),
    address text NOT NULL CHECK (octet_length(address) <= 300),
    listener_state text NOT NULL CHECK (listener_state IN ('listening', 'down')),
    started_at timestamptz NOT NULL,
    last_seen timestamptz NOT NULL
);

-- A revoke that an instance did not acknowledge in time leaves a row here for it; the instance's
-- next heartbeat takes it, stops trusting its cache and restarts its LISTEN connection, so an
-- instance whose listener stalled silently stops accepting the token within a second, not only
-- once its own probe notices.
CREATE UNLOGGED TABLE keyflare_instance_alerts (
    instance_id text NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX keyflare_instance_alerts_instance_idx ON keyflare_instance_alerts (instance_id);

CREATE VIEW reporting.instances AS
SELECT instance_id, address, listener_state, started_at, last_seen,
       last_seen > now() - interval '3 seconds' AS alive
FROM public.keyflare_instances;
COMMENT ON VIEW reporting.instances IS 'Keyflare instances that ran in the last hour, from their heartbeats (about one a second).';
COMMENT ON COLUMN reporting.instances.instance_id IS 'The instance''s id (also in its log lines and its LISTEN connection''s application_name).';
COMMENT ON COLUMN reporting.instances.address IS 'Where it serves, as it describes itself (host:port).';
COMMENT ON COLUMN reporting.instances.listener_state IS 'listening, or down (it then verifies every token against the database).';
COMMENT ON COLUMN reporting.instances.started_at IS 'When it started.';
COMMENT ON COLUMN reporting.instances.last_seen IS 'Its last heartbeat.';
COMMENT ON COLUMN reporting.instances.alive IS 'Whether it was heard in the last 3 seconds (revokes wait for every instance heard within the listener detection time plus 3 seconds).';
GRANT SELECT ON reporting.instances TO keyflare_reporting;
