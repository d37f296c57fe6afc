-- The sandbox that endpoint SQL runs in. Isolation is PostgreSQL's own, not a parser's:
--
-- * Each account gets a LOGIN role of its own (an opaque name, a random password kept in
--   sandbox_roles). Endpoint SQL runs on a connection logged in as that role, so session_user is the
--   account's role: SET ROLE / RESET ROLE / set_config('role', …) can reach no other role, and
--   SET SESSION AUTHORIZATION is refused (the login is not a superuser).
-- * The role has no privilege on any Keyflare table. Its sources appear as TEMP views, created at
--   the start of each query's transaction by keyflare_sandbox.open_sources(), which reads the
--   account from session_user, and rolled back at its end, so no other session ever sees their
--   names in the catalog.
-- * The transaction is READ ONLY, has a statement timeout, and is always rolled back.
CREATE TABLE sandbox_roles (
    account_id uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    role_name text NOT NULL UNIQUE,
    password text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON sandbox_roles FROM PUBLIC;

CREATE SCHEMA keyflare_sandbox;
REVOKE ALL ON SCHEMA keyflare_sandbox FROM PUBLIC;

CREATE FUNCTION keyflare_sandbox.open_sources() RETURNS void
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
    FOR src IN SELECT id, name FROM public.sources WHERE account_id = acct LOOP
        EXECUTE format(
            'CREATE TEMP VIEW %I WITH (security_barrier) AS '
            'SELECT id, "timestamp", event_message, body FROM public.events '
            'WHERE account_id = %L AND source_id = %L',
            src.name, acct, src.id);
        EXECUTE format('GRANT SELECT ON pg_temp.%I TO %I', src.name, session_user);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION keyflare_sandbox.open_sources() FROM PUBLIC;

-- Creates an account's role. CREATE ROLE takes no bind parameters, so the name and password are
-- quoted here with format(%I, %L). Only Keyflare's own role may call it.
CREATE FUNCTION keyflare_create_sandbox_role(role_name text, role_password text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    EXECUTE format(
        'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
        role_name, role_password);
    EXECUTE format('GRANT USAGE ON SCHEMA keyflare_sandbox TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.open_sources() TO %I', role_name);
END;
$$;
REVOKE ALL ON FUNCTION keyflare_create_sandbox_role(text, text) FROM PUBLIC;
