use auth_axum::role_required;

#[role_required("admin", scope = "project_id")]
async fn read() {}

fn main() {}
