use auth_axum::permission_required;

#[permission_required()]
async fn create() {}

fn main() {}
