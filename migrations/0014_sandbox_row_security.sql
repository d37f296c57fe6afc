-- Tenant queries use the indexes. The per-run source views were security_barrier views, which the
-- planner cannot flatten, so "the latest 10 events of a source" could not walk the
-- (source_id, timestamp) index: 178 ms on a 1,000,000-event source against 0.02 ms on a plain view.
--
-- Isolation now comes from row-level security on events, which PostgreSQL applies to the base
-- relation (where ordered index scans remain possible) and orders before any qual of the tenant's
-- that is not leakproof, so a failing cast that prints its input never sees another account's row.
-- The views become plain views owned by keyflare_sandbox_reader, a role that owns nothing and is not
-- a superuser, so the policy applies to it: it sees only the rows of the account whose sandbox role
-- is logged in (session_user). Sandbox roles themselves still hold no privilege on any table.

-- Cluster-wide, so it may exist already (another Keyflare database in the cluster) or be being
-- created right now by another database's migration.
DO $$
BEGIN
    CREATE ROLE keyflare_sandbox_reader NOLOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;
-- To hand open_sources() to the reader, the migrating role must be able to act as it.
DO $$
BEGIN
    EXECUTE format('GRANT keyflare_sandbox_reader TO %I', current_user);
EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN
    NULL;
END;
$$;

GRANT USAGE ON SCHEMA keyflare_sandbox TO keyflare_sandbox_reader;
GRANT SELECT ON public.sources TO keyflare_sandbox_reader;
GRANT SELECT (account_id, role_name) ON public.sandbox_roles TO keyflare_sandbox_reader;
GRANT SELECT (id, account_id, source_id, "timestamp", event_message, body) ON public.events TO keyflare_sandbox_reader;

ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
-- Only the reader is subject to a policy; the owner (Keyflare's role) is exempt as owners are, and
-- any other role granted access later sees nothing until it gets a policy of its own.
CREATE POLICY sandbox_account ON public.events FOR SELECT TO keyflare_sandbox_reader
    USING (account_id = (SELECT r.account_id FROM public.sandbox_roles r WHERE r.role_name = session_user));

CREATE OR REPLACE FUNCTION keyflare_sandbox.open_sources() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    acct uuid;
    src record;
BEGIN
    SELECT account_id INTO acct FROM public.sandbox_roles WHERE role_name = session_user;
    IF acct IS NULL THEN
        RAISE EXCEPTION 'not a Keyflare sandbox session';
    END IF;
    -- Plain views: the planner flattens them, so the source filter and the tenant's ORDER BY reach
    -- the index; the row-level security policy on events keeps every other account's rows out.
    FOR src IN SELECT id, name FROM public.sources WHERE account_id = acct LOOP
        EXECUTE format(
            'CREATE TEMP VIEW %I AS '
            'SELECT id, "timestamp", event_message, body FROM public.events '
            'WHERE account_id = %L AND source_id = %L',
            src.name, acct, src.id);
        EXECUTE format('GRANT SELECT ON pg_temp.%I TO %I', src.name, session_user);
    END LOOP;
END;
$$;
ALTER FUNCTION keyflare_sandbox.open_sources() OWNER TO keyflare_sandbox_reader;
REVOKE ALL ON FUNCTION keyflare_sandbox.open_sources() FROM PUBLIC;
-- Existing sandbox roles keep their right to call it (the owner change reset nothing else, but the
-- grant is repeated so that this migration alone states who may).
DO $$
DECLARE
    existing record;
BEGIN
    FOR existing IN SELECT role_name FROM public.sandbox_roles LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.open_sources() TO %I', existing.role_name);
    END LOOP;
END;
$$;
