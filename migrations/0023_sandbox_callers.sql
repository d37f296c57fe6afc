-- Sandboxed queries (a caller's own statement over a sandboxable endpoint's CTEs) are held by
-- PostgreSQL's privileges, not by a scanner: each CTE becomes a temporary security_barrier view
-- owned by the account's role, the source views are renamed out of the way (hide_sources), and the
-- caller's statement runs after SET LOCAL ROLE keyflare_sandbox_caller, a role that owns nothing
-- and is granted SELECT on those CTE views only. It cannot read a source view, whatever it writes.
DO $$
BEGIN
    CREATE ROLE keyflare_sandbox_caller NOLOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

-- Renames the session's source views (those open_sources made) to names no one can guess, so the
-- CTE views can take the CTEs' names, which are often the sources' own. The views stay, and the
-- CTE views built on them keep working; only their names go.
CREATE FUNCTION keyflare_sandbox.hide_sources() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.sandbox_roles WHERE role_name = session_user) THEN
        RAISE EXCEPTION 'not a Keyflare sandbox session';
    END IF;
    FOR v IN
        SELECT c.oid::regclass AS relation FROM pg_class c
        WHERE c.relnamespace = pg_my_temp_schema() AND c.relkind = 'v' AND c.relowner = current_user::regrole
    LOOP
        EXECUTE format('ALTER VIEW %s RENAME TO %I', v.relation, 'kf_source_' || md5(random()::text || clock_timestamp()::text));
    END LOOP;
END;
$$;
ALTER FUNCTION keyflare_sandbox.hide_sources() OWNER TO keyflare_sandbox_reader;
REVOKE ALL ON FUNCTION keyflare_sandbox.hide_sources() FROM PUBLIC;

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
    EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.hide_sources() TO %I', role_name);
    EXECUTE format('GRANT keyflare_sandbox_caller TO %I', role_name);
    PERFORM keyflare_sandbox.limit_role(role_name);
END;
$$;
REVOKE ALL ON FUNCTION keyflare_create_sandbox_role(text, text) FROM PUBLIC;

DO $$
DECLARE
    existing record;
BEGIN
    FOR existing IN SELECT role_name FROM public.sandbox_roles LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION keyflare_sandbox.hide_sources() TO %I', existing.role_name);
        EXECUTE format('GRANT keyflare_sandbox_caller TO %I', existing.role_name);
    END LOOP;
END;
$$;
