-- The GitHub and typecast mappings of 0019, bounded for the worst event as well as the usual one:
-- one event's mapping runs inside a group commit that holds other requests' events.
-- * without_url_keys re-encodes each level's subtree, so its cost grew with size × depth (an 8 MB
--   event 126 levels deep took minutes). It now strips *_url keys down to 8 levels, which covers
--   GitHub's payloads, and leaves anything deeper as it is: at most 8 passes over the event.
-- * typecast rebuilt the body once per directive (quadratic in the number of directives). It now
--   applies the first 32, and casts only numbers that write out short (0, or 1e-6 <= |x| < 1e16),
--   so a cast cannot turn "1e308" into 309 digits.
CREATE FUNCTION keyflare_ingest.without_url_keys(value jsonb, depth integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE
        WHEN depth >= 8 THEN value
        WHEN jsonb_typeof(value) = 'object' THEN coalesce(
            (SELECT jsonb_object_agg(m.key, keyflare_ingest.without_url_keys(m.value, depth + 1))
             FROM jsonb_each(value) AS m WHERE right(m.key, 4) <> '_url'), '{}'::jsonb)
        WHEN jsonb_typeof(value) = 'array' THEN coalesce(
            (SELECT jsonb_agg(keyflare_ingest.without_url_keys(a.value, depth + 1) ORDER BY a.n)
             FROM jsonb_array_elements(value) WITH ORDINALITY AS a (value, n)), '[]'::jsonb)
        ELSE value
    END
$$;

CREATE OR REPLACE FUNCTION keyflare_ingest.github(event jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT jsonb_build_object(
        'message', concat_ws(' | ', coalesce(event #>> '{repository,full_name}', ''),
                             coalesce(event #>> '{sender,login}', ''), coalesce(event #>> '{action}', '')),
        'metadata', keyflare_ingest.without_url_keys(event, 0))
$$;

DROP FUNCTION keyflare_ingest.without_url_keys(jsonb);

CREATE OR REPLACE FUNCTION keyflare_ingest.typecast(event jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
DECLARE
    result jsonb;
    directive jsonb;
    path text[];
    text_value text;
    number numeric;
BEGIN
    IF jsonb_typeof(event) IS DISTINCT FROM 'object' OR jsonb_typeof(event -> 'body') IS DISTINCT FROM 'object' THEN
        RETURN event;
    END IF;
    result := event -> 'body';
    IF jsonb_typeof(event -> 'typecasts') IS DISTINCT FROM 'array' THEN
        RETURN result;
    END IF;
    FOR directive IN SELECT d.value FROM jsonb_array_elements(event -> 'typecasts') WITH ORDINALITY AS d (value, n) WHERE d.n <= 32 LOOP
        CONTINUE WHEN jsonb_typeof(directive) IS DISTINCT FROM 'object'
            OR directive ->> 'from' IS DISTINCT FROM 'string' OR directive ->> 'to' IS DISTINCT FROM 'float'
            OR jsonb_typeof(directive -> 'path') IS DISTINCT FROM 'array'
            OR jsonb_array_length(directive -> 'path') NOT BETWEEN 1 AND 128;
        path := ARRAY(SELECT p.value #>> '{}' FROM jsonb_array_elements(directive -> 'path') AS p);
        CONTINUE WHEN jsonb_typeof(result #> path) IS DISTINCT FROM 'string';
        text_value := btrim(result #>> path);
        CONTINUE WHEN length(text_value) > 48
            OR text_value !~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$';
        number := text_value::numeric;
        CONTINUE WHEN number <> 0 AND (abs(number) >= 1e16 OR abs(number) < 1e-6);
        result := jsonb_set(result, path, to_jsonb(number::float8));
    END LOOP;
    RETURN result;
END
$$;
