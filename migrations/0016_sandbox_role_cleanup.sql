-- A sandbox role leaves with its account. Deleting an account cascades to its sandbox_roles row;
-- this trigger then drops the PostgreSQL role itself (and what it was granted in this database).
-- Dropping a role takes a superuser or, on PostgreSQL 15, membership in it: when Keyflare's role has
-- neither, the account is still deleted and a warning names the role an operator may drop by hand.
CREATE FUNCTION keyflare_sandbox.drop_sandbox_role() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    BEGIN
        EXECUTE format('DROP OWNED BY %I', OLD.role_name);
        EXECUTE format('DROP ROLE %I', OLD.role_name);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'sandbox role % was not dropped (%); drop it as a superuser', OLD.role_name, SQLERRM;
    END;
    RETURN OLD;
END;
$$;
REVOKE ALL ON FUNCTION keyflare_sandbox.drop_sandbox_role() FROM PUBLIC;

CREATE TRIGGER sandbox_roles_drop_role
    AFTER DELETE ON public.sandbox_roles
    FOR EACH ROW EXECUTE FUNCTION keyflare_sandbox.drop_sandbox_role();
