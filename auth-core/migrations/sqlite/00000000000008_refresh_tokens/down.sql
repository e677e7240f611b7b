DROP TABLE auth_refresh_tokens;
