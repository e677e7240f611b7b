DROP TABLE auth_mfa_challenges;
DROP TABLE auth_mfa_backup_codes;
DROP TABLE auth_mfa_totp;
ALTER TABLE auth_sessions DROP COLUMN reauthenticated_at;
ALTER TABLE auth_sessions DROP COLUMN mfa_at;
