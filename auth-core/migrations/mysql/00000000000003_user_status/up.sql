-- Why an account was suspended (deactivated by an administrator), when and by whom. One row
-- per user at most; the flag itself is the user table's is_active.
CREATE TABLE auth_user_status (
    user_id BIGINT PRIMARY KEY,
    reason TEXT NOT NULL,
    changed_at DATETIME(6) NOT NULL,
    changed_by BIGINT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
