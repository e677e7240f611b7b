//! Pagination of the admin lists: `page` (from 1) and `per_page` (1 to 100, default 20).

use std::collections::HashMap;

use serde::Serialize;

use crate::response::ApiError;

/// Page size when `per_page` is not given.
pub(crate) const DEFAULT_PER_PAGE: i64 = 20;
/// Largest `per_page` accepted.
pub(crate) const MAX_PER_PAGE: i64 = 100;

/// One page of a list.
#[derive(Serialize)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
    pub(crate) total: i64,
}

/// An integer query parameter, or `default` when absent.
pub(crate) fn int_param(
    query: &HashMap<String, String>,
    name: &str,
    default: i64,
) -> Result<i64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(format!("{name}: expected an integer"))),
    }
}

/// `page` and `per_page`, checked.
pub(crate) fn params(query: &HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    let page = int_param(query, "page", 1)?;
    if page < 1 {
        return Err(ApiError::invalid("page: must be at least 1"));
    }
    let per_page = int_param(query, "per_page", DEFAULT_PER_PAGE)?;
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::invalid(format!(
            "per_page: must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    Ok((page, per_page))
}

/// The number of rows before `page`.
pub(crate) fn offset(page: i64, per_page: i64) -> Result<i64, ApiError> {
    (page - 1)
        .checked_mul(per_page)
        .ok_or_else(|| ApiError::invalid("page: too large"))
}
