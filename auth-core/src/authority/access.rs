//! What a guarded handler requires, as data: the guard macros build these as constants,
//! the runtime checks them, and the access report lists them.

/// A permission rule: one permission, or all / any of several rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Holds this permission (`"article.create"`).
    Permission(&'static str),
    /// Satisfies every rule.
    All(&'static [Rule]),
    /// Satisfies at least one rule.
    Any(&'static [Rule]),
}

impl Rule {
    /// Whether a user holding `has(code)` permissions satisfies the rule.
    pub fn eval(&self, has: &impl Fn(&str) -> bool) -> bool {
        match self {
            Rule::Permission(code) => has(code),
            Rule::All(rules) => rules.iter().all(|r| r.eval(has)),
            Rule::Any(rules) => rules.iter().any(|r| r.eval(has)),
        }
    }

    /// Every permission the rule names.
    pub fn permissions(&self, out: &mut Vec<&'static str>) {
        match self {
            Rule::Permission(code) => out.push(code),
            Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| r.permissions(out)),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |f: &mut std::fmt::Formatter<'_>, name: &str, rules: &[Rule]| {
            write!(f, "{name}(")?;
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Rule::Permission(code) => write!(f, "{code}"),
            Rule::All(rules) => list(f, "all", rules),
            Rule::Any(rules) => list(f, "any", rules),
        }
    }
}

/// What a handler requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A logged-in, active user.
    Login,
    /// A user satisfying the rule (superusers always do).
    Permission(Rule),
    /// A user holding at least one of these roles (superusers always do).
    Role(&'static [&'static str]),
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Login => f.write_str("login"),
            Requirement::Permission(rule) => write!(f, "permission {rule}"),
            Requirement::Role(roles) => write!(f, "role any({})", roles.join(", ")),
        }
    }
}

/// One guard on one handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessSpec {
    /// The handler function's name.
    pub handler: &'static str,
    /// The module it is defined in (`module_path!()`).
    pub module: &'static str,
    /// What it requires.
    pub requirement: Requirement,
    /// The path parameter naming the scope the permission must be held in, if any.
    pub scope_param: Option<&'static str>,
    /// Whether the session must have passed a second factor (`mfa`).
    pub mfa: bool,
    /// How old, at most, the session's last proof of identity may be, in seconds
    /// (`fresh = "10m"`).
    pub fresh_secs: Option<u64>,
}

/// A registered guard, collected at link time for the access report.
#[derive(Debug)]
pub struct AccessEntry(pub &'static AccessSpec);

inventory::collect!(AccessEntry);

/// Every guard compiled into the program, sorted by module and handler, each listed once
/// (a handler compiled twice, as `#[axum::debug_handler]` above a guard does, registers its
/// guard twice).
pub fn registered() -> Vec<&'static AccessSpec> {
    let mut specs: Vec<&'static AccessSpec> = Vec::new();
    for entry in inventory::iter::<AccessEntry> {
        if !specs.contains(&entry.0) {
            specs.push(entry.0);
        }
    }
    specs.sort_by_key(|s| (s.module, s.handler));
    specs
}

/// Whether `code` is a well-formed permission (the grammar the guard macros also apply at
/// compile time, from the one definition in `auth-grammar`).
pub use auth_grammar::permission::is_valid_permission;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_evaluate_and_print() {
        const RULE: Rule = Rule::All(&[
            Rule::Permission("a.b"),
            Rule::Any(&[Rule::Permission("c.d"), Rule::Permission("e.f")]),
        ]);
        let has = |held: &'static [&'static str]| move |p: &str| held.contains(&p);
        assert!(RULE.eval(&has(&["a.b", "e.f"])));
        assert!(!RULE.eval(&has(&["a.b"])));
        assert!(!RULE.eval(&has(&["c.d", "e.f"])));
        assert_eq!(RULE.to_string(), "all(a.b, any(c.d, e.f))");
        let mut names = Vec::new();
        RULE.permissions(&mut names);
        assert_eq!(names, ["a.b", "c.d", "e.f"]);
    }
}
