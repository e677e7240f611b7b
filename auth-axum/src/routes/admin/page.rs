//! Pagination of the admin lists: `page` (from 1) and `per_page` (1 to 100, default 20).

use std::collections::HashMap;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use serde::Serialize;

use crate::response::ApiError;

/// Page size when `per_page` is not given.
pub(crate) const DEFAULT_PER_PAGE: i64 = 20;
/// Largest `per_page` accepted.
pub(crate) const MAX_PER_PAGE: i64 = 100;

/// One page of a list.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) page: i64,
    pub(crate) per_page: i64,
    pub(crate) total: i64,
}

/// A list request's query string, checked: only `page`, `per_page` and `filters` may
/// appear (anything else is a 422 naming it).
pub(crate) struct ListQuery {
    /// Every parameter, for the list's own filters.
    pub(crate) params: HashMap<String, String>,
    /// The page, from 1.
    pub(crate) page: i64,
    /// Its size.
    pub(crate) per_page: i64,
    /// Rows before the page.
    pub(crate) offset: i64,
}

impl ListQuery {
    /// Parses `query`, allowing `filters` beside the paging parameters.
    pub(crate) fn parse(
        query: Result<Query<HashMap<String, String>>, QueryRejection>,
        filters: &[&str],
    ) -> Result<ListQuery, ApiError> {
        let Query(params) =
            query.map_err(|_| ApiError::invalid("the query string is malformed"))?;
        if let Some(key) = params
            .keys()
            .find(|k| !matches!(k.as_str(), "page" | "per_page") && !filters.contains(&k.as_str()))
        {
            return Err(ApiError::invalid(format!("{key}: unknown parameter")));
        }
        let (page, per_page) = self::params(&params)?;
        Ok(ListQuery {
            offset: offset(page, per_page)?,
            params,
            page,
            per_page,
        })
    }

    /// The page answer for `items` out of `total`.
    pub(crate) fn page<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        }
    }
}

/// An integer query parameter, or `default` when absent.
fn int_param(query: &HashMap<String, String>, name: &str, default: i64) -> Result<i64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(format!("{name}: expected an integer"))),
    }
}

/// `page` and `per_page`, checked.
fn params(query: &HashMap<String, String>) -> Result<(i64, i64), ApiError> {
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
fn offset(page: i64, per_page: i64) -> Result<i64, ApiError> {
    (page - 1)
        .checked_mul(per_page)
        .ok_or_else(|| ApiError::invalid("page: too large"))
}
