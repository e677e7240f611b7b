DROP TABLE auth_events;
DROP TABLE auth_tokens;
DROP TABLE auth_throttle;
