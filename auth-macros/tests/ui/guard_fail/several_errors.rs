use auth_axum::permission_required;

#[permission_required("article", any(), either("a.b"), scop = "x", scope = 1)]
fn create() {}

fn main() {}
