//! Account protection: login throttling, the password policy, the audit log and the limit
//! on how many refused credentials it records.

pub mod audit;
pub mod password_policy;
pub(crate) mod rejections;
pub mod throttle;
