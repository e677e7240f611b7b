DROP TABLE auth_api_keys;
