-- A run creates views only for the sources its statement can name. open_sources() made one TEMP view
-- and one grant per source of the account, before the statement timeout was set, each holding a lock
-- until the rollback: an account with thousands of sources could exhaust the shared lock table for
-- everyone. Keyflare now passes the names its scanner found in the statement (quoted identifiers
-- exactly, unquoted words lower-cased, keywords included), so the cost of a run follows its SQL, not
-- the size of the account.
DROP FUNCTION keyflare_sandbox.open_sources();

CREATE FUNCTION keyflare_sandbox.open_sources(names text[]) RETURNS void
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
    -- Plain views (see 0014): the row-level security policy on events keeps other accounts out.
    FOR src IN SELECT id, name FROM public.sources WHERE account_id = acct AND name = ANY (names) LOOP
        EXECUTE format(
            'CREATE TEMP VIEW %I AS '
            'SELECT id, "timestamp", event_message, body FROM public.events '
            'WHERE account_id = %L AND source_id = %L',
            src.name, acct, src.id);
        EXECUTE format('GRANT SELECT ON pg_temp.%I TO %I', src.name, session_user);
    END LOOP;
END;
$$;
ALTER FUNCTION keyflare_sandbox.open_sources(text[]) OWNER TO keyflare_sandbox_reader;
REVOKE ALL ON FUNCTION keyflare_sandbox.open_sources(text[]) FROM PUBLIC;

-- New roles get the new function; existing ones are granted it here.
CREATE OR REPLACE FUNCTION keyflare_create_sandbox_role(role_name text, role_password text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    EXECUTE format(
        'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
        role_name, role_password);
    EXECUTE format('GRANT USAGE ON SCHEMA keyflare_sandbox TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.open_sources(text[]) TO %I', role_name);
    PERFORM keyflare_sandbox.limit_role(role_name);
END;
$$;
REVOKE ALL ON FUNCTION keyflare_create_sandbox_role(text, text) FROM PUBLIC;

DO $$
DECLARE
    existing record;
BEGIN
    FOR existing IN SELECT role_name FROM public.sandbox_roles LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.open_sources(text[]) TO %I', existing.role_name);
    END LOOP;
END;
$$;
