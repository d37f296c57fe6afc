-- Making and deleting a webhook is recorded like every other change (the events, never the URL,
-- which may carry the receiver's own key, nor the secret).
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_check CHECK (action IN (
    'token.created', 'token.revoked', 'token.rolled', 'token.updated', 'token.disabled', 'token.enabled',
    'token.leaked', 'token.canary_used', 'token.reused_after_roll',
    'account.updated', 'webhook.created', 'webhook.deleted',
    'source.created', 'source.updated', 'source.deleted',
    'endpoint.created', 'endpoint.updated', 'endpoint.deleted',
    'user.signed_in', 'user.sign_in_failed'));
COMMENT ON COLUMN reporting.audit_events.action IS 'token.created|revoked|rolled|updated|disabled|enabled|leaked|canary_used|reused_after_roll, account.updated, webhook.created|deleted, source.*, endpoint.*, user.signed_in, user.sign_in_failed.';
