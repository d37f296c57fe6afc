-- Sandboxable endpoints (Logflare's `sandboxable`): a `WITH …` endpoint whose callers may send
-- their own final statement over its CTEs (`?sql=`), as Supabase Studio does to query logs.
ALTER TABLE endpoints ADD COLUMN sandboxable boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN endpoints.sandboxable IS
    'true: callers may replace the final statement of this WITH query with their own over its CTEs';

-- A caller's statement may read the endpoint's CTEs only, so nothing in the sandbox may read a
-- relation named in a string, out of sight of the check of the statement's names: the *_to_xml
-- family takes a regclass or a schema name (query_to_xml and cursor_to_xml are already revoked).
INSERT INTO keyflare_sandbox.inventory (pattern, kind, decision, keyflare_needs, reason) VALUES
    ('table_to_xml%', 'function', 'revoked', false, 'reads a relation named as text (a regclass): past the check of a sandboxed caller''s names'),
    ('schema_to_xml%', 'function', 'revoked', false, 'reads every relation of a schema named as text'),
    ('database_to_xml%', 'function', 'revoked', false, 'reads every relation the role can see');

SELECT keyflare_sandbox.harden(current_user);
