use auth_axum::role_required;

#[role_required("admin", fresh = "0s")]
async fn read() {}

fn main() {}
