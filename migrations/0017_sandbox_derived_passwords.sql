-- Sandbox role passwords are no longer stored. Each one is derived when a connection is opened, as
-- HMAC-SHA-256 of the role's name under the sandbox key: KEYFLARE_SANDBOX_KEY, or, on an install that
-- does not set it, a random key kept in sandbox_key (readable by Keyflare's role alone). A copy of
-- sandbox_roles, or of a backup without sandbox_key, lets nobody log in as an account's role.
--
-- key_id is a fingerprint of the key a role's password was last set from (never the key). A role
-- whose key_id differs from the running key's (every role made before this migration, or after the
-- operator changed the key) gets its password set again from the current key before it is used.
-- The stored passwords stop working too, so a backup taken before this migration logs nobody in:
-- each role gets a derived one on its next use. Clearing a password takes CREATEROLE, which
-- Keyflare's role has (it creates the roles); without it, the old password lasts until that use.
DO $$
DECLARE
    existing record;
BEGIN
    FOR existing IN SELECT role_name FROM public.sandbox_roles LOOP
        BEGIN
            EXECUTE format('ALTER ROLE %I PASSWORD NULL', existing.role_name);
        EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
            RAISE WARNING 'the stored password of sandbox role % was not cleared (%); it is replaced on the role''s next use',
                existing.role_name, SQLERRM;
        END;
    END LOOP;
END;
$$;
ALTER TABLE sandbox_roles DROP COLUMN password;
ALTER TABLE sandbox_roles ADD COLUMN key_id text;

CREATE TABLE sandbox_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON sandbox_key FROM PUBLIC;

-- Sets a sandbox role's password. Only roles listed in sandbox_roles, so this can never change the
-- password of Keyflare's own role or of any other role. Only Keyflare's own role may call it.
CREATE FUNCTION keyflare_set_sandbox_password(role_name text, role_password text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.sandbox_roles r WHERE r.role_name = keyflare_set_sandbox_password.role_name) THEN
        RAISE EXCEPTION 'not a Keyflare sandbox role';
    END IF;
    EXECUTE format('ALTER ROLE %I PASSWORD %L', role_name, role_password);
END;
$$;
REVOKE ALL ON FUNCTION keyflare_set_sandbox_password(text, text) FROM PUBLIC;
