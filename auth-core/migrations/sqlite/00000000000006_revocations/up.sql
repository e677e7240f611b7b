-- Append-only log of changes that end cached sessions: a user's sessions ended, the user
-- changed. Every instance polls it (rows after the last id it saw) to evict its session
-- cache; rows are deleted after a retention period.
CREATE TABLE auth_revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_revocations_created ON auth_revocations (created_at);
