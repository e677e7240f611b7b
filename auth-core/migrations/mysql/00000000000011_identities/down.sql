DROP TABLE auth_oauth_states;
DROP TABLE auth_identities;
