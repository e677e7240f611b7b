-- Who gave a role assignment: '' by hand (an administrator, the CLI, the API), 'ldap' by
-- the LDAP group sync, which removes only what it gave.
ALTER TABLE auth_user_roles ADD COLUMN granted_by VARCHAR(32) NOT NULL DEFAULT '';
