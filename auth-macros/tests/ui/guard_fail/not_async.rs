use auth_axum::login_required;

#[login_required]
fn read() -> &'static str {
    "sync"
}

fn main() {}
