ALTER TABLE auth_user_roles DROP COLUMN granted_by;
