-- How Logflare's integration routes turn what a service sends into what is stored (Vercel and
-- Netlify log drains, GitHub webhooks, typecast batches), as pure functions the ingest INSERT calls
-- per event. They live in their own schema, on which nobody else is granted anything: a sandbox
-- role cannot see or call them. Every function is total: no input makes it raise, because one
-- event that raises would fail a whole group commit of other requests.
CREATE SCHEMA keyflare_ingest;
REVOKE ALL ON SCHEMA keyflare_ingest FROM PUBLIC;

-- Vercel log drains (`/vercel`, `/zeit`): a message made of the event's source and its proxy's
-- status, host, path, client address and user agent ("build | <message>" for build output), and
-- the event, with a user agent sent as a list joined with commas, under `metadata`.
CREATE FUNCTION keyflare_ingest.vercel(event jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    WITH fixed AS (
        SELECT CASE
            WHEN jsonb_typeof(event #> '{proxy,userAgent}') = 'array' THEN
                jsonb_set(event, '{proxy,userAgent}', to_jsonb(array_to_string(
                    ARRAY(SELECT x #>> '{}' FROM jsonb_array_elements(event #> '{proxy,userAgent}') AS a (x)), ',')))
            ELSE event
        END AS metadata
    )
    SELECT jsonb_build_object(
        'message', CASE
            WHEN event ->> 'source' = 'build' THEN
                CASE WHEN event ? 'message' AND jsonb_typeof(event -> 'message') <> 'null'
                     THEN 'build | ' || (event #>> '{message}') ELSE 'build' END
            ELSE concat_ws(' | ', coalesce(event ->> 'source', ''),
                           coalesce(metadata #>> '{proxy,statusCode}', ''), coalesce(metadata #>> '{proxy,host}', ''),
                           coalesce(metadata #>> '{proxy,path}', ''), coalesce(metadata #>> '{proxy,clientIp}', ''),
                           coalesce(metadata #>> '{proxy,userAgent}', ''))
        END,
        'metadata', metadata)
        || CASE WHEN event ? 'timestamp' THEN jsonb_build_object('timestamp', event -> 'timestamp') ELSE '{}'::jsonb END
    FROM fixed
$$;

-- Netlify log drains (`/netlify`): traffic and function logs get a message of their log type,
-- method, status, request id and path (or client address, request id, URL and user agent), the
-- rest under `metadata`; Netlify's validation ping (`{"message": …}`) is stored as a "validate" log.
CREATE FUNCTION keyflare_ingest.netlify(event jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE
        WHEN jsonb_typeof(event) <> 'object' THEN event
        WHEN event ? 'timestamp' AND event ? 'log_type' THEN jsonb_build_object(
            'message', CASE
                WHEN event ?& ARRAY['method', 'status_code', 'request_id', 'path'] THEN
                    concat_ws(' | ', event #>> '{log_type}', event #>> '{method}', event #>> '{status_code}',
                              event #>> '{request_id}', event #>> '{path}')
                WHEN event ?& ARRAY['method', 'status_code', 'client_ip', 'request_id', 'url', 'user_agent'] THEN
                    concat_ws(' | ', event #>> '{log_type}', event #>> '{method}', event #>> '{status_code}',
                              event #>> '{client_ip}', event #>> '{request_id}', event #>> '{url}', event #>> '{user_agent}')
                ELSE (event - 'timestamp')::text
            END,
            'metadata', event - 'timestamp',
            'timestamp', event -> 'timestamp')
        WHEN event ? 'message' THEN
            jsonb_build_object('message', event -> 'message', 'metadata', jsonb_build_object('log_type', 'validate'))
        ELSE event
    END
$$;

-- Every member whose key ends in `_url`, at any depth, removed (GitHub payloads are mostly links).
CREATE FUNCTION keyflare_ingest.without_url_keys(value jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'object' THEN coalesce(
            (SELECT jsonb_object_agg(m.key, keyflare_ingest.without_url_keys(m.value))
             FROM jsonb_each(value) AS m WHERE right(m.key, 4) <> '_url'), '{}'::jsonb)
        WHEN 'array' THEN coalesce(
            (SELECT jsonb_agg(keyflare_ingest.without_url_keys(a.value) ORDER BY a.n)
             FROM jsonb_array_elements(value) WITH ORDINALITY AS a (value, n)), '[]'::jsonb)
        ELSE value
    END
$$;

-- GitHub webhooks (`/github`): "<repository> | <sender> | <action>", the payload without its links
-- under `metadata`.
CREATE FUNCTION keyflare_ingest.github(event jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$
    SELECT jsonb_build_object(
        'message', concat_ws(' | ', coalesce(event #>> '{repository,full_name}', ''),
                             coalesce(event #>> '{sender,login}', ''), coalesce(event #>> '{action}', '')),
        'metadata', keyflare_ingest.without_url_keys(event))
$$;

-- Typecast batches (`/typecasts`): each event is `{"body": {…}, "typecasts": [{"path": [...],
-- "from": "string", "to": "float"}]}` and what is stored is the body with each named string turned
-- into a number. A cast that does not apply (another kind, a missing path, a string that is not a
-- finite double) leaves the value as it is; an event without a body object is stored as sent.
CREATE FUNCTION keyflare_ingest.typecast(event jsonb) RETURNS jsonb
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
    FOR directive IN SELECT d.value FROM jsonb_array_elements(event -> 'typecasts') AS d LOOP
        CONTINUE WHEN jsonb_typeof(directive) IS DISTINCT FROM 'object'
            OR directive ->> 'from' IS DISTINCT FROM 'string' OR directive ->> 'to' IS DISTINCT FROM 'float'
            OR jsonb_typeof(directive -> 'path') IS DISTINCT FROM 'array'
            OR jsonb_array_length(directive -> 'path') NOT BETWEEN 1 AND 128;
        path := ARRAY(SELECT p.value #>> '{}' FROM jsonb_array_elements(directive -> 'path') AS p);
        CONTINUE WHEN jsonb_typeof(result #> path) IS DISTINCT FROM 'string';
        text_value := btrim(result #>> path);
        -- At most 40 significant characters and a three-digit exponent: numeric holds it, and the
        -- range check below keeps the float8 cast from raising.
        CONTINUE WHEN length(text_value) > 48
            OR text_value !~ '^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$';
        number := text_value::numeric;
        CONTINUE WHEN abs(number) > 1e308 OR (number <> 0 AND abs(number) < 1e-307);
        result := jsonb_set(result, path, to_jsonb(number::float8));
    END LOOP;
    RETURN result;
END
$$;
