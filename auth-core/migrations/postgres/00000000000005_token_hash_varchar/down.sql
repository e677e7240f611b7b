ALTER TABLE auth_tokens ALTER COLUMN token_hash TYPE CHAR(64);
ALTER TABLE auth_sessions ALTER COLUMN token_hash TYPE CHAR(64);
