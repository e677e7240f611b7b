use auth_axum::login_required;
use axum::extract::Path;

#[login_required]
async fn read(#[cfg(not(test))] Path(_id): Path<i64>) {}

fn main() {}
