//! `#[operation]`: a handler's route and OpenAPI entry in the few words that
//! are the operation's own, expanded into actix-web's route attribute and
//! utoipa's `#[utoipa::path]`.
//!
//! Every operation's `#[utoipa::path]` used to say the same things the long
//! way: a problem response was a tuple whose body and content type never
//! change, an entity's id the same `Path` parameter, the security the same
//! one of two lists. This attribute writes those parts once; everything else
//! is handed to utoipa as written, so the OpenAPI document is the one the
//! long form made (the OpenAPI drift test compares it with
//! `openapi/openapi.json`).
//!
//! ```text
//! #[operation(post "/projects/{project_id}/payouts/{payout_id}/rejections", tag = "funds",
//!     signed_in, request_body = RejectionRequest, params(id "payout_id" "Payout id"),
//!     responses(201 Payout "The payout, rejected", PayoutNotFound, 422 "`required`"))]
//! pub async fn reject_payout(...) -> ... { ... }
//! ```
//!
//! - First the method (`get`, `post`, `put`, `patch`, `delete`) and the path:
//!   the actix-web route attribute.
//! - `signed_in` stands for `security(("bearer" = []))` (a token is
//!   required), `public` for `security((), ("bearer" = []))` (a token is
//!   read when sent).
//! - In `params(...)`, `id "payout_id" "Payout id"` stands for the path
//!   parameter `("payout_id" = String, Path, format = Uuid, description =
//!   "Payout id")`.
//! - In `responses(...)`, `201 Payout "…"` is a success with a JSON body,
//!   `422 "…"` a problem document (`Problem` as
//!   `application/problem+json`); anything else (a shared response set such
//!   as `Forbidden`, a utoipa tuple) is passed on as written.
//! - Anything else (`tag`, `request_body`, other parameters) is passed on to
//!   `#[utoipa::path]` as written.

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// See the [crate](crate) documentation.
#[proc_macro_attribute]
pub fn operation(attribute: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = expand(attribute).and_then(|(path, route)| {
        format!("#[utoipa::path({path})] {route}")
            .parse::<TokenStream>()
            .map_err(|e| format!("#[operation] made an attribute Rust cannot read: {e}"))
    });
    match expanded {
        Ok(mut attributes) => {
            attributes.extend(item);
            attributes
        }
        Err(message) => format!("compile_error!({message:?});")
            .parse()
            .unwrap_or_default(),
    }
}

/// The `#[utoipa::path]` arguments and the route attribute.
fn expand(attribute: TokenStream) -> Result<(String, String), String> {
    let mut parts = split_commas(attribute.into_iter().collect());
    if parts.is_empty() {
        return Err("#[operation] starts with the method and the path".into());
    }
    let route = match parts.remove(0).as_slice() {
        [TokenTree::Ident(method), TokenTree::Literal(path)]
            if ["get", "post", "put", "patch", "delete"].contains(&method.to_string().as_str()) =>
        {
            format!("#[{method}({path})]")
        }
        _ => return Err("#[operation] starts with the method and the path: post \"/…\"".into()),
    };
    let mut arguments = Vec::new();
    for part in parts {
        arguments.push(match part.as_slice() {
            [TokenTree::Ident(word)] if word.to_string() == "signed_in" => {
                r#"security(("bearer" = []))"#.to_owned()
            }
            [TokenTree::Ident(word)] if word.to_string() == "public" => {
                r#"security((), ("bearer" = []))"#.to_owned()
            }
            [TokenTree::Ident(word), TokenTree::Group(group)]
                if group.delimiter() == Delimiter::Parenthesis && word.to_string() == "params" =>
            {
                format!("params({})", each(group.stream(), parameter)?)
            }
            [TokenTree::Ident(word), TokenTree::Group(group)]
                if group.delimiter() == Delimiter::Parenthesis
                    && word.to_string() == "responses" =>
            {
                format!("responses({})", each(group.stream(), response)?)
            }
            _ => as_written(&part),
        });
    }
    Ok((arguments.join(", "), route))
}

/// The comma-separated items of `stream`, each rewritten by `rewrite`.
fn each(
    stream: TokenStream,
    rewrite: fn(&[TokenTree]) -> Result<String, String>,
) -> Result<String, String> {
    let items = split_commas(stream.into_iter().collect())
        .iter()
        .map(|item| rewrite(item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items.join(", "))
}

/// `id "name" "description"`: an entity's id in the path.
fn parameter(item: &[TokenTree]) -> Result<String, String> {
    Ok(match item {
        [
            TokenTree::Ident(word),
            TokenTree::Literal(name),
            TokenTree::Literal(description),
        ] if word.to_string() == "id" => {
            format!("({name} = String, Path, format = Uuid, description = {description})")
        }
        _ => as_written(item),
    })
}

/// `200 Type "description"`: a success; `422 "description"`: a problem.
fn response(item: &[TokenTree]) -> Result<String, String> {
    Ok(match item {
        [
            TokenTree::Literal(status),
            TokenTree::Ident(body),
            TokenTree::Literal(description),
        ] => format!("(status = {status}, description = {description}, body = {body})"),
        [TokenTree::Literal(status), TokenTree::Literal(description)] => format!(
            "(status = {status}, description = {description}, body = Problem, \
             content_type = \"application/problem+json\")"
        ),
        _ => as_written(item),
    })
}

fn as_written(item: &[TokenTree]) -> String {
    item.iter().cloned().collect::<TokenStream>().to_string()
}

/// `tokens` cut at its top-level commas; empty items (a trailing comma) dropped.
fn split_commas(tokens: Vec<TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut items = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => items.push(Vec::new()),
            _ => {
                if let Some(last) = items.last_mut() {
                    last.push(token);
                }
            }
        }
    }
    items.retain(|item| !item.is_empty());
    items
}
