use auth_axum::role_required;

#[role_required("admin", "")]
async fn admin() {}

fn main() {}
