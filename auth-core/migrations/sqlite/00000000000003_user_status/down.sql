DROP TABLE auth_user_status;
