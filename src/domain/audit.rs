//! The audit trail's rules: what an event is called, and which request ids
//! are kept as sent.
//!
//! Every change of state a request makes to a project is recorded as one
//! event (see `db::events`); its kind is named after the operation, from the
//! request's method and route, so that no operation can be left out by
//! forgetting to name it: `POST /projects/{project_id}/contributions/{id}/reviews`
//! is `contribution.review.created`, `PATCH /projects/{project_id}` is
//! `project.updated`, `DELETE /projects/{project_id}/members/{agent_id}` is
//! `member.deleted`.

/// The kind of the event a request of `method` to the route `pattern`
/// records (`pattern` as routed, with `{placeholders}`).
pub fn event_kind(method: &str, pattern: &str) -> String {
    let mut segments: Vec<&str> = pattern
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect();
    if segments.first() == Some(&"v1") {
        segments.remove(0);
    }
    // A project's own resources are named without the project, and the
    // caller's (`/me/...`) without `me`.
    if segments.len() > 1 && segments[0] == "projects" || segments.first() == Some(&"me") {
        segments.remove(0);
    }
    let mut kind: Vec<String> = segments.iter().map(|s| singular(s)).collect();
    if kind.is_empty() {
        kind.push("root".to_owned());
    }
    let verb = match method {
        "POST" | "PUT" => "created",
        "PATCH" => "updated",
        "DELETE" => "deleted",
        _ => "changed",
    };
    kind.push(verb.to_owned());
    kind.join(".")
}

/// A collection's name made singular, with `-` written `_`.
fn singular(segment: &str) -> String {
    let word = segment.replace('-', "_");
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_owned()
    } else {
        word
    }
}

/// The longest request id kept as the client sent it.
pub const REQUEST_ID_MAX: usize = 64;

/// Whether a client's `X-Request-Id` is kept as sent: 1 to 64 characters
/// of letters, digits, `.`, `_`, `:` and `-`. Any other is replaced by one
/// the service makes, so the log never holds what a client could use to
/// forge a line or hide an event.
pub fn request_id_is_kept(sent: &str) -> bool {
    !sent.is_empty()
        && sent.len() <= REQUEST_ID_MAX
        && sent
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_after_the_operation() {
        let cases = [
            ("POST", "/v1/projects", "project.created"),
            ("PATCH", "/v1/projects/{project_id}", "project.updated"),
            (
                "POST",
                "/v1/projects/{project_id}/contributions",
                "contribution.created",
            ),
            (
                "POST",
                "/v1/projects/{project_id}/contributions/{contribution_id}/reviews",
                "contribution.review.created",
            ),
            (
                "DELETE",
                "/v1/projects/{project_id}/members/{agent_id}",
                "member.deleted",
            ),
            (
                "POST",
                "/v1/projects/{project_id}/expense-categories",
                "expense_category.created",
            ),
            (
                "POST",
                "/v1/projects/{project_id}/grants/{grant_id}/in-kind",
                "grant.in_kind.created",
            ),
            (
                "POST",
                "/v1/me/invitations/{invitation_id}/acceptance",
                "invitation.acceptance.created",
            ),
            (
                "DELETE",
                "/v1/me/invitations/{invitation_id}",
                "invitation.deleted",
            ),
            (
                "POST",
                "/v1/projects/{project_id}/distributions/{distribution_id}/executions",
                "distribution.execution.created",
            ),
            (
                "POST",
                "/v1/projects/{project_id}/closings",
                "closing.created",
            ),
        ];
        for (method, pattern, kind) in cases {
            assert_eq!(event_kind(method, pattern), kind, "{method} {pattern}");
        }
    }

    #[test]
    fn request_ids_are_kept_only_when_plain() {
        assert!(request_id_is_kept("3f1c2a9e-0b7d-4c39-9f0e-6a1b2c3d4e5f"));
        assert!(request_id_is_kept("trace:abc.def_1"));
        assert!(!request_id_is_kept(""));
        assert!(!request_id_is_kept("a b"));
        assert!(!request_id_is_kept("line\nbreak"));
        assert!(!request_id_is_kept("é"));
        assert!(!request_id_is_kept(&"a".repeat(REQUEST_ID_MAX + 1)));
        assert!(request_id_is_kept(&"a".repeat(REQUEST_ID_MAX)));
    }
}
