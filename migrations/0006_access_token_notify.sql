-- Every change to a token that can change what it may do is announced on the `keyflare_tokens`
-- channel, in the same transaction, so every instance drops its cached copy when the change
-- commits, whoever made it: a Keyflare instance or an operator's plain SQL. The payload is the
-- SHA-256 of the token in hex (never the secret); 'flush' means "drop everything".
CREATE FUNCTION keyflare_notify_token_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('keyflare_tokens', encode(OLD.token_hash, 'hex'));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('keyflare_tokens', encode(NEW.token_hash, 'hex'));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION keyflare_notify_token_flush() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keyflare_tokens', 'flush');
    RETURN NULL;
END;
$$;

-- INSERT matters too: it clears a cached "no such token" for the same hash.
CREATE TRIGGER access_tokens_notify_insert_delete
    AFTER INSERT OR DELETE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION keyflare_notify_token_change();

-- Bookkeeping columns (last_used_at, description) do not change what a token may do, so updates
-- that only touch them do not invalidate caches.
CREATE TRIGGER access_tokens_notify_update
    AFTER UPDATE ON access_tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.scopes IS DISTINCT FROM NEW.scopes
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION keyflare_notify_token_change();

CREATE TRIGGER access_tokens_notify_truncate
    AFTER TRUNCATE ON access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION keyflare_notify_token_flush();
