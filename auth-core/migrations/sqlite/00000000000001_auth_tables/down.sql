DROP TABLE auth_sessions;
DROP TABLE auth_group_roles;
DROP TABLE auth_user_groups;
DROP TABLE auth_user_roles;
DROP TABLE auth_role_permissions;
DROP TABLE auth_groups;
DROP TABLE auth_roles;
DROP TABLE auth_permissions;
