-- Sources: named streams of log events, each owned by one account.
CREATE TABLE sources (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sources_account_name_key UNIQUE (account_id, name),
    -- Lets events reference (account, source) together, so an event can never sit in one account
    -- while pointing at another account's source.
    CONSTRAINT sources_account_id_key UNIQUE (account_id, id)
);

-- Events. Deleting a source deletes its events.
CREATE TABLE events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL,
    source_id uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    event_message text,
    body jsonb NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, source_id) REFERENCES sources (account_id, id) ON DELETE CASCADE
);

CREATE INDEX events_source_timestamp_idx ON events (source_id, "timestamp" DESC);
