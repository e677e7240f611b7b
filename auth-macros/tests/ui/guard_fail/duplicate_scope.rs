use auth_axum::permission_required;

#[permission_required("project.read", scope = "project_id", scope = "id")]
async fn read() {}

fn main() {}
