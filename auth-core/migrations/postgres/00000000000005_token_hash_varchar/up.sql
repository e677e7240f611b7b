-- The token hashes were CHAR(64) (bpchar), but every query binds the hash as TEXT (the
-- Diesel schema declares the columns `Text`). PostgreSQL then compares
-- `token_hash::text = $1::text`, which the bpchar unique index cannot serve: each session
-- lookup (every authenticated request) and each token lookup scanned the whole table.
-- VARCHAR is binary-coercible to TEXT and its index uses text_ops, so the unique indexes
-- serve TEXT binds. The values (64 hex digits) are unchanged; the unique indexes are
-- rebuilt by the type change and keep their names.
--
-- MySQL / MariaDB and SQLite need no counterpart: MySQL binds strings and compares a
-- CHAR(64) utf8mb4_bin column with a string parameter through the index, and SQLite gives
-- CHAR(64) TEXT affinity, so a TEXT bind uses the index (tests/tests/query_plans.rs checks
-- both plans).
ALTER TABLE auth_sessions ALTER COLUMN token_hash TYPE VARCHAR(64);
ALTER TABLE auth_tokens ALTER COLUMN token_hash TYPE VARCHAR(64);
