//! Authority: who acts ([`Actor`]), what a guard requires ([`access`]), the one decision
//! of every guard ([`decide`]), and the report of every guarded handler ([`report`]).

pub mod access;
mod actor;
pub mod decide;
pub mod report;

pub use actor::{Actor, ClientInfo};
