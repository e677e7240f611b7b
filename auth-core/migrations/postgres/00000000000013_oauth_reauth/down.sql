ALTER TABLE auth_oauth_states DROP COLUMN reauth_session_id;
