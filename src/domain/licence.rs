//! Licences of data contributions: SPDX expressions (parsed by the `spdx`
//! crate) and the Open Definition policy a project may require.

/// Data licences conformant to the Open Definition (opendefinition.org/licenses),
/// beside which OSI-approved software licences are also accepted as open.
const OPEN_DATA_LICENCES: &[&str] = &[
    "CC0-1.0",
    "PDDL-1.0",
    "CC-BY-4.0",
    "CC-BY-3.0",
    "CC-BY-2.5",
    "CC-BY-SA-4.0",
    "CC-BY-SA-3.0",
    "ODC-By-1.0",
    "ODbL-1.0",
    "CC-PDDC",
    "Unlicense",
    "etalab-2.0",
    "OGL-UK-3.0",
    "DL-DE-BY-2.0",
    "DL-DE-ZERO-2.0",
];

/// What a project requires of data licences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicencePolicy {
    Any,
    Open,
}

impl LicencePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            LicencePolicy::Any => "any",
            LicencePolicy::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "any" => Some(LicencePolicy::Any),
            "open" => Some(LicencePolicy::Open),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    #[error("`{0}` is not a valid SPDX licence expression: {1}")]
    Invalid(String, String),
    #[error("`{expression}` is not an open licence: {reason}")]
    NotOpen { expression: String, reason: String },
}

impl LicenceError {
    pub fn code(&self) -> &'static str {
        match self {
            LicenceError::Invalid(..) => "invalid_licence",
            LicenceError::NotOpen { .. } => "licence_not_open",
        }
    }
}

/// Why one licence is not open, or `None` if it is.
fn not_open_because(requirement: &spdx::LicenseReq) -> Option<String> {
    let spdx::LicenseItem::Spdx { id, .. } = &requirement.license else {
        return Some(format!("`{requirement}` is not a licence on the SPDX list"));
    };
    let name = id.name;
    if name.contains("-NC") {
        return Some(format!("{name} forbids commercial use (NC)"));
    }
    if name.contains("-ND") {
        return Some(format!("{name} forbids derivatives (ND)"));
    }
    if OPEN_DATA_LICENCES.contains(&name) || id.is_osi_approved() {
        return None;
    }
    Some(format!(
        "{name} is not on the Open Definition's list of conformant licences"
    ))
}

/// Parses an SPDX expression and applies the policy: under `open`, the
/// expression must be satisfiable with open licences only (`A OR B` needs
/// one open side, `A AND B` both). Returns the expression as written.
pub fn check(expression: &str, policy: LicencePolicy) -> Result<String, LicenceError> {
    let parsed = spdx::Expression::parse(expression)
        .map_err(|error| LicenceError::Invalid(expression.to_owned(), error.reason.to_string()))?;
    if policy == LicencePolicy::Open
        && !parsed.evaluate(|requirement| not_open_because(requirement).is_none())
    {
        let reason = parsed
            .requirements()
            .filter_map(|req| not_open_because(&req.req))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(LicenceError::NotOpen {
            expression: expression.to_owned(),
            reason,
        });
    }
    Ok(expression.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_policy_table() {
        let cases = [
            ("CC-BY-4.0", Ok(())),
            ("CC0-1.0", Ok(())),
            ("ODbL-1.0", Ok(())),
            ("CC-BY-SA-4.0 OR CC-BY-NC-4.0", Ok(())),
            ("MIT AND CC-BY-4.0", Ok(())),
            ("CC-BY-NC-4.0", Err("licence_not_open")),
            ("CC-BY-ND-4.0", Err("licence_not_open")),
            ("CC-BY-4.0 AND CC-BY-NC-SA-4.0", Err("licence_not_open")),
            ("LicenseRef-proprietary", Err("licence_not_open")),
            ("not a licence", Err("invalid_licence")),
            ("", Err("invalid_licence")),
        ];
        for (expression, expected) in cases {
            let got = check(expression, LicencePolicy::Open)
                .map(|_| ())
                .map_err(|e| e.code());
            assert_eq!(got, expected, "{expression}");
        }
    }

    #[test]
    fn refusals_say_why_and_any_accepts_valid_expressions() {
        let error = check("CC-BY-NC-4.0", LicencePolicy::Open).expect_err("NC");
        assert!(error.to_string().contains("commercial use (NC)"), "{error}");
        assert!(check("CC-BY-NC-4.0", LicencePolicy::Any).is_ok());
        assert!(
            check("nonsense (", LicencePolicy::Any).is_err(),
            "any still needs valid SPDX"
        );
    }
}
