-- Tokens of any format, imported from another system (Logflare, self-hosted Supabase's free-form
-- LOGFLARE_*_ACCESS_TOKEN values) or seeded from such a value: stored, like Keyflare's own, only as
-- their SHA-256, and marked so that an operator can tell them apart (they carry no checksum).
ALTER TABLE access_tokens
    ADD COLUMN format text NOT NULL DEFAULT 'keyflare' CHECK (format IN ('keyflare', 'imported'));

COMMENT ON COLUMN access_tokens.format IS
    'keyflare: kf_pub_/kf_prv_ with a checksum; imported: any 16 to 512 visible ASCII characters';
