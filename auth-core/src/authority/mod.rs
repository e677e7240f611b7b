//! Authority: what a guard requires ([`access`]) and the report of every guarded handler
//! ([`report`]).

pub mod access;
pub mod report;
