use auth_axum::permission_required;

struct Api;

impl Api {
    #[permission_required("article.read")]
    async fn read(&self) {}
}

fn main() {}
