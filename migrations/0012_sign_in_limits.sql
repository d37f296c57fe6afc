-- Sign-in attempts are reserved as failure rows before bcrypt runs, and expired rows are pruned a
-- batch at a time by age: an index on the age alone keeps that prune cheap.
CREATE INDEX sign_in_failures_failed_at_idx ON sign_in_failures (failed_at);
