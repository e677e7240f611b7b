use auth_axum::permission_required;
use axum::extract::Path;

#[permission_required("project.read", scop = "project_id")]
async fn read(Path(project_id): Path<i64>) -> String {
    project_id.to_string()
}

fn main() {}
