//! Account protection: login throttling, the password policy and the audit log.

pub mod audit;
pub mod password_policy;
pub mod throttle;
