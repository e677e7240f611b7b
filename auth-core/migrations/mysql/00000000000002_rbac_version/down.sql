DROP TABLE auth_rbac_version;
