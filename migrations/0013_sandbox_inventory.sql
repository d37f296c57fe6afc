-- The endpoint sandbox, function by function (docs/sandbox.md says why for each class).
--
-- PostgreSQL grants EXECUTE on most catalog functions to PUBLIC, and so to every sandbox role. Some
-- act outside the calling transaction (session advisory locks survive the rollback,
-- pg_logical_emit_message writes WAL even in a READ ONLY transaction), some reveal other sessions
-- or other accounts' activity (pg_stat_*, pg_locks, role names), and some change the resource
-- settings the sandbox relies on (set_config). The inventory below names every volatile catalog
-- function a sandbox role can execute, with a decision; IntegrationTests fail when one is missing,
-- so a PostgreSQL upgrade or a new extension cannot widen the sandbox silently.
--
-- Revoking a catalog function from PUBLIC takes its owner, the bootstrap superuser. When this
-- migration runs as a superuser (make run, make test, most self-hosted installs) it revokes at once;
-- otherwise an operator runs `SELECT keyflare_sandbox.harden('<keyflare role>')` as a superuser
-- once, and `keyflare serve` logs an error until then.
CREATE TABLE keyflare_sandbox.inventory (
    pattern text PRIMARY KEY,            -- a pg_catalog function or view name, or a LIKE pattern
    kind text NOT NULL CHECK (kind IN ('function', 'view')),
    decision text NOT NULL CHECK (decision IN ('revoked', 'allowed')),
    keyflare_needs boolean NOT NULL DEFAULT false,  -- granted back to Keyflare's own role
    reason text NOT NULL
);
REVOKE ALL ON keyflare_sandbox.inventory FROM PUBLIC;

INSERT INTO keyflare_sandbox.inventory (pattern, kind, decision, keyflare_needs, reason) VALUES
    -- Acts outside the transaction, or holds something after it.
    ('pg_advisory_xact_lock%', 'function', 'revoked', true, 'locks shared with migrations and sign-in; Keyflare itself uses the transaction-scoped ones'),
    ('pg_advisory%', 'function', 'revoked', false, 'session-level advisory locks outlive the rollback and can freeze migrations'),
    ('pg_try_advisory%', 'function', 'revoked', false, 'as pg_advisory_*'),
    ('pg_logical_emit_message', 'function', 'revoked', false, 'writes WAL even in a READ ONLY transaction, and survives the rollback'),
    ('pg_notify', 'function', 'revoked', true, 'would reach every instance''s LISTEN connection; Keyflare''s own triggers and probe need it'),
    ('pg_export_snapshot', 'function', 'revoked', false, 'a snapshot other sessions can import'),
    ('pg_cancel_backend', 'function', 'revoked', false, 'acts on other sessions'),
    ('pg_terminate_backend', 'function', 'revoked', false, 'acts on other sessions'),
    ('pg_sleep%', 'function', 'revoked', false, 'holds a connection for nothing (the statement timeout still applies)'),
    ('lo\_%', 'function', 'revoked', false, 'large objects live outside the transaction''s data and any account'),
    ('loread', 'function', 'revoked', false, 'large-object I/O'),
    ('lowrite', 'function', 'revoked', false, 'large-object I/O'),
    ('nextval', 'function', 'revoked', false, 'sequence changes are not rolled back'),
    ('setval', 'function', 'revoked', false, 'sequence changes are not rolled back'),
    ('currval', 'function', 'revoked', false, 'sequence state'),
    ('lastval', 'function', 'revoked', false, 'sequence state'),
    ('pg_sequence_last_value', 'function', 'revoked', false, 'sequence state'),
    ('set_config', 'function', 'revoked', false, 'would raise work_mem or the statement timeout mid-statement'),
    ('query_to_xml%', 'function', 'revoked', false, 'runs SQL given as text: dynamic SQL past any check of the statement'),
    ('cursor_to_xml%', 'function', 'revoked', false, 'as query_to_xml'),
    ('ts_stat', 'function', 'revoked', false, 'runs SQL given as text'),
    ('ts_rewrite', 'function', 'revoked', false, 'its query form runs SQL given as text'),
    ('brin_%', 'function', 'revoked', false, 'index maintenance'),
    ('gin_clean_pending_list', 'function', 'revoked', false, 'index maintenance'),
    ('pg_%replication_slot%', 'function', 'revoked', false, 'replication slots hold WAL for everyone'),
    ('pg_logical_slot_%', 'function', 'revoked', false, 'replication slots'),
    ('pg_import_system_collations', 'function', 'revoked', false, 'catalog changes'),
    ('pg_extension_config_dump', 'function', 'revoked', false, 'extension scripts only'),
    ('pg_stop_making_pinned_objects', 'function', 'revoked', false, 'initdb only'),
    ('pg_nextoid', 'function', 'revoked', false, 'catalog internals'),
    ('binary_upgrade_%', 'function', 'revoked', false, 'pg_upgrade only'),
    ('pg_read_file_old', 'function', 'revoked', false, 'server files'),
    ('pg_rotate_logfile_old', 'function', 'revoked', false, 'server logs'),
    ('currtid2', 'function', 'revoked', false, 'reads tuples by physical address'),
    ('unique_key_recheck', 'function', 'revoked', false, 'trigger internals'),
    ('suppress_redundant_updates_trigger', 'function', 'revoked', false, 'trigger internals'),
    ('tsvector_update_trigger%', 'function', 'revoked', false, 'trigger internals'),
    -- Reveal other sessions, other accounts' activity, or the server's state.
    ('pg_stat_%', 'function', 'revoked', false, 'statistics of every session and table (other accounts'' activity)'),
    ('pg_lock_status', 'function', 'revoked', false, 'every session''s locks'),
    ('pg_blocking_pids', 'function', 'revoked', false, 'other sessions'),
    ('pg_safe_snapshot_blocking_pids', 'function', 'revoked', false, 'other sessions'),
    ('pg_isolation_test_session_is_blocked', 'function', 'revoked', false, 'other sessions'),
    ('pg_prepared_xact', 'function', 'revoked', false, 'other sessions'' prepared transactions'),
    ('pg_get_multixact_members', 'function', 'revoked', false, 'other transactions'),
    ('pg_xact_commit_timestamp%', 'function', 'revoked', false, 'other transactions'),
    ('pg_xact_status', 'function', 'revoked', false, 'other transactions'),
    ('txid_status', 'function', 'revoked', false, 'other transactions'),
    ('pg_last_committed_xact', 'function', 'revoked', false, 'other transactions'),
    ('pg_notification_queue_usage', 'function', 'revoked', false, 'other sessions'' notifications'),
    ('pg_%_size', 'function', 'revoked', false, 'sizes of shared tables reveal every account''s volume'),
    ('pg_column_size', 'function', 'allowed', false, 'the size of a value the caller already has'),
    ('pg_partition_tree', 'function', 'revoked', false, 'table structure outside the account'),
    ('pg_partition_ancestors', 'function', 'revoked', false, 'table structure outside the account'),
    ('pg_control_%', 'function', 'revoked', false, 'server state'),
    ('pg_current_wal_%', 'function', 'revoked', false, 'server state'),
    ('pg_last_wal_%', 'function', 'revoked', false, 'server state'),
    ('pg_last_xact_replay_timestamp', 'function', 'revoked', false, 'server state'),
    ('pg_get_wal_%', 'function', 'revoked', false, 'server state'),
    ('pg_is_wal_replay_paused', 'function', 'revoked', false, 'server state'),
    -- Volatile but harmless: no effect outside the statement, nothing about anyone else.
    ('random', 'function', 'allowed', false, 'a pseudo-random number'),
    ('setseed', 'function', 'allowed', false, 'seeds random() for this account''s own connection only'),
    ('gen_random_uuid', 'function', 'allowed', false, 'a random UUID'),
    ('clock_timestamp', 'function', 'allowed', false, 'the current time'),
    ('timeofday', 'function', 'allowed', false, 'the current time'),
    ('current_query', 'function', 'allowed', false, 'the caller''s own statement'),
    ('pg_is_in_recovery', 'function', 'allowed', false, 'whether this is a replica'),
    ('pg_jit_available', 'function', 'allowed', false, 'a server capability'),
    ('pg_collation_actual_version', 'function', 'allowed', false, 'a collation''s version'),
    ('pg_database_collation_actual_version', 'function', 'allowed', false, 'a collation''s version'),
    ('amvalidate', 'function', 'allowed', false, 'checks an operator class definition; reads the catalog only'),
    ('bernoulli', 'function', 'allowed', false, 'a TABLESAMPLE method; not callable from SQL'),
    ('system', 'function', 'allowed', false, 'a TABLESAMPLE method; not callable from SQL'),
    ('%handler', 'function', 'allowed', false, 'access-method and language handlers; take internal arguments, not callable from SQL'),
    ('plpgsql_%', 'function', 'allowed', false, 'PL/pgSQL handlers; not callable from SQL'),
    ('dsnowball_%', 'function', 'allowed', false, 'text-search dictionary internals; internal arguments'),
    ('RI_FKey_%', 'function', 'allowed', false, 'foreign-key trigger functions; only callable as triggers'),
    -- Views of other sessions, other accounts' statistics, and role names (which would tell one
    -- account how many others there are).
    ('pg_stat%', 'view', 'revoked', true, 'statistics of every session and table'),
    ('pg_locks', 'view', 'revoked', true, 'every session''s locks'),
    ('pg_prepared_xacts', 'view', 'revoked', true, 'other sessions'' transactions'),
    ('pg_roles', 'view', 'revoked', true, 'every role''s name, among them every account''s sandbox role'),
    ('pg_user', 'view', 'revoked', true, 'as pg_roles'),
    ('pg_group', 'view', 'revoked', true, 'as pg_roles');

-- Applies the inventory: revokes from PUBLIC, grants back to Keyflare's role what it needs. It must
-- run as a superuser (the owner of the catalog), so it does nothing otherwise, saying so.
CREATE FUNCTION keyflare_sandbox.harden(keyflare_role name) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    item record;
    revoked int := 0;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN 'skipped: revoking catalog privileges needs a superuser; run SELECT keyflare_sandbox.harden(''' || keyflare_role || ''') as one';
    END IF;
    -- The most specific pattern decides (pg_advisory_xact_lock% before pg_advisory%).
    FOR item IN
        SELECT DISTINCT ON (p.oid) p.oid::regprocedure AS signature, i.decision, i.keyflare_needs
        FROM pg_proc p JOIN keyflare_sandbox.inventory i ON i.kind = 'function' AND p.proname LIKE i.pattern
        WHERE p.pronamespace = 'pg_catalog'::regnamespace
        ORDER BY p.oid, length(i.pattern) DESC
    LOOP
        CONTINUE WHEN item.decision <> 'revoked';
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', item.signature);
        IF item.keyflare_needs THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', item.signature, keyflare_role);
        END IF;
        revoked := revoked + 1;
    END LOOP;
    FOR item IN
        SELECT DISTINCT ON (c.oid) c.oid::regclass AS relation, i.keyflare_needs
        FROM pg_class c JOIN keyflare_sandbox.inventory i ON i.kind = 'view' AND c.relname LIKE i.pattern
        WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'v' AND i.decision = 'revoked'
        ORDER BY c.oid, length(i.pattern) DESC
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', item.relation);
        IF item.keyflare_needs THEN
            EXECUTE format('GRANT SELECT ON %s TO %I', item.relation, keyflare_role);
        END IF;
        revoked := revoked + 1;
    END LOOP;
    RETURN 'revoked ' || revoked || ' functions and views from PUBLIC';
END;
$$;
REVOKE ALL ON FUNCTION keyflare_sandbox.harden(name) FROM PUBLIC;

SELECT keyflare_sandbox.harden(current_user);

-- Limits every sandbox role carries, whatever its SQL does (set_config is revoked above, and a
-- wrapped SELECT cannot run SET). temp_file_limit can only be set by a superuser: the role function
-- tries and leaves it to the database's setting otherwise.
CREATE OR REPLACE FUNCTION keyflare_sandbox.limit_role(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    EXECUTE format('ALTER ROLE %I SET work_mem = %L', role_name, '16MB');
    EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', role_name, '30s');
    EXECUTE format('ALTER ROLE %I SET lock_timeout = %L', role_name, '1s');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', role_name, '30s');
    EXECUTE format('ALTER ROLE %I SET hash_mem_multiplier = %L', role_name, '1');
    EXECUTE format('ALTER ROLE %I SET max_parallel_workers_per_gather = %L', role_name, '0');
    BEGIN
        EXECUTE format('ALTER ROLE %I SET temp_file_limit = %L', role_name, '256MB');
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'temp_file_limit for % left to the database setting (needs a superuser)', role_name;
    END;
END;
$$;
REVOKE ALL ON FUNCTION keyflare_sandbox.limit_role(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION keyflare_create_sandbox_role(role_name text, role_password text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    EXECUTE format(
        'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
        role_name, role_password);
    EXECUTE format('GRANT USAGE ON SCHEMA keyflare_sandbox TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.open_sources() TO %I', role_name);
    PERFORM keyflare_sandbox.limit_role(role_name);
END;
$$;
REVOKE ALL ON FUNCTION keyflare_create_sandbox_role(text, text) FROM PUBLIC;

DO $$
DECLARE
    existing record;
BEGIN
    FOR existing IN SELECT role_name FROM public.sandbox_roles LOOP
        PERFORM keyflare_sandbox.limit_role(existing.role_name);
    END LOOP;
END;
$$;
