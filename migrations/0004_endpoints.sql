-- Saved SQL query endpoints. Tokens may be restricted to one of them (query:endpoint:<id>).
CREATE TABLE endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,128}$'),
    description text NOT NULL DEFAULT '',
    sql text NOT NULL,
    enable_auth boolean NOT NULL DEFAULT true,
    max_limit integer NOT NULL DEFAULT 1000 CHECK (max_limit BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT endpoints_account_name_key UNIQUE (account_id, name),
    CONSTRAINT endpoints_account_id_key UNIQUE (account_id, id)
);
