-- A provider login under way that re-authenticates this session (sudo mode) instead of
-- logging in or linking.
ALTER TABLE auth_oauth_states ADD COLUMN reauth_session_id BIGINT NULL;
