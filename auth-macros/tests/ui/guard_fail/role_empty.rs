use auth_axum::role_required;

#[role_required]
async fn admin() {}

fn main() {}
