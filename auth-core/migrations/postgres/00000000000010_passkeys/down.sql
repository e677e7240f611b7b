DROP TABLE auth_webauthn_ceremonies;
DROP TABLE auth_passkeys;
