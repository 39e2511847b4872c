//! Forms: their fields with labels, the values sent back after a refusal,
//! and the API's refusal shown in words next to the field it concerns
//! (the problem's `errors[].field` names the field; the rest goes on top).

use std::collections::HashMap;

use maud::{Markup, html};
use serde_json::{Map, Value};

use super::api::Answer;
use super::locale::Locale;
use super::messages::{Key, field_fr, problem_fr};
use super::visit::Visit;

/// A submitted form: field name to value.
pub type Submitted = HashMap<String, String>;

/// What the API refused, ready to show.
#[derive(Debug, Default)]
pub struct Refusal {
    /// The problem's `detail`, in the page's language where the code is known.
    pub detail: String,
    /// `(field, message)` for each field error.
    pub fields: Vec<(String, String)>,
}

impl Refusal {
    /// The API's refusal, its known codes in `locale`'s words (the API's
    /// English text otherwise).
    pub fn of(answer: &Answer, locale: Locale) -> Self {
        let french = |code: &Value, table: fn(&str) -> Option<&'static str>| match locale {
            Locale::Fr => code.as_str().and_then(table),
            Locale::En => None,
        };
        let problem = answer.json();
        let fields: Vec<(String, String)> = problem["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        let field = e["field"].as_str().unwrap_or_default().to_owned();
                        let message = french(&e["code"], field_fr)
                            .or_else(|| e["message"].as_str())
                            .unwrap_or_default()
                            .to_owned();
                        (field, message)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A validation problem is named by its fields' code when they agree.
        let validation = Value::from("validation_failed");
        let fields_named = (!fields.is_empty()).then_some(&validation);
        let detail = french(&problem["code"], problem_fr)
            .or_else(|| fields_named.and_then(|code| french(code, problem_fr)))
            .or_else(|| problem["detail"].as_str())
            .map_or_else(|| answer.status.to_string(), str::to_owned);
        Refusal { detail, fields }
    }

    fn for_field(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(field, _)| field == name || field.starts_with(&format!("{name}.")))
            .map(|(_, message)| message.as_str())
            .collect()
    }
}

/// How a field is entered.
pub enum Input {
    Text,
    Date,
    Decimal,
    LongText,
    Choice(Vec<(String, String)>),
}

/// One field: the API's name for it (dotted for nested objects), its label.
pub struct Field {
    pub name: &'static str,
    pub label: Key,
    pub input: Input,
    pub required: bool,
}

impl Field {
    pub fn new(name: &'static str, label: Key, input: Input, required: bool) -> Self {
        Field {
            name,
            label,
            input,
            required,
        }
    }
}

/// A form posting to `action`, with this visit's CSRF token, `values` as
/// sent before and the refusal's messages beside their fields.
pub fn form(
    visit: &Visit,
    id: &str,
    action: &str,
    fields: &[Field],
    values: Option<&Submitted>,
    refusal: Option<&Refusal>,
    submit: Key,
) -> Markup {
    let value = |name: &str| {
        values
            .and_then(|v| v.get(name))
            .cloned()
            .unwrap_or_default()
    };
    html! {
        form.stack method="post" action=(action) id=(id) {
            input type="hidden" name="csrf" value=(visit.csrf);
            @if let Some(refusal) = refusal {
                p.error role="alert" id={ (id) "-refusal" } { (visit.t(Key::Refused)) " " (refusal.detail) }
            }
            @for field in fields {
                @let input_id = format!("{id}-{}", field.name.replace('.', "-"));
                @let messages = refusal.map(|r| r.for_field(field.name)).unwrap_or_default();
                @let error_id = format!("{input_id}-error");
                @let described = (!messages.is_empty()).then_some(error_id.as_str());
                div {
                    label for=(input_id) { (visit.t(field.label)) }
                    @match &field.input {
                        Input::Choice(options) => {
                            select id=(input_id) name=(field.name) required[field.required] aria-describedby=[described] aria-invalid=[described.map(|_| "true")] {
                                @if !field.required { option value="" { "—" } }
                                @for (option, label) in options {
                                    option value=(option) selected[value(field.name) == *option] { (label) }
                                }
                            }
                        }
                        Input::LongText => {
                            textarea id=(input_id) name=(field.name) rows="3" required[field.required] aria-describedby=[described] aria-invalid=[described.map(|_| "true")] { (value(field.name)) }
                        }
                        input => {
                            @let (kind, mode) = match input {
                                Input::Date => ("date", None),
                                Input::Decimal => ("text", Some("decimal")),
                                _ => ("text", None),
                            };
                            input id=(input_id) name=(field.name) type=(kind) inputmode=[mode] value=(value(field.name)) required[field.required] aria-describedby=[described] aria-invalid=[described.map(|_| "true")];
                        }
                    }
                    @if !messages.is_empty() {
                        p.field-error id=(error_id) { @for message in messages { (message) " " } }
                    }
                }
            }
            div { button type="submit" { (visit.t(submit)) } }
        }
    }
}

/// A JSON body from submitted `fields`: empty values left out, dotted
/// names made into nested objects, `numbers` sent as integers.
pub fn body(submitted: &Submitted, fields: &[Field], numbers: &[&str]) -> Value {
    let mut root = Map::new();
    for field in fields {
        let Some(text) = submitted
            .get(field.name)
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let value = match text.parse::<i64>() {
            Ok(number) if numbers.contains(&field.name) => Value::from(number),
            _ => Value::from(text),
        };
        match field.name.split_once('.') {
            Some((outer, inner)) => {
                let entry = root
                    .entry(outer)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(nested) = entry {
                    nested.insert(inner.to_owned(), value);
                }
            }
            None => {
                root.insert(field.name.to_owned(), value);
            }
        }
    }
    Value::Object(root)
}

/// The options of a `<select>` from a list answer's items.
pub fn options(
    items: &[Value],
    value: &str,
    label: impl Fn(&Value) -> String,
) -> Vec<(String, String)> {
    items
        .iter()
        .map(|item| {
            (
                item[value]
                    .as_str()
                    .map_or_else(|| item[value].to_string(), str::to_owned),
                label(item),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_nest_dotted_fields_and_leave_out_empty_ones() {
        let fields = [
            Field::new("kind", Key::Kind, Input::Text, true),
            Field::new("dataset.licence", Key::DatasetLicence, Input::Text, false),
            Field::new("skill", Key::Skill, Input::Text, false),
            Field::new("rule_set_version", Key::RuleSetVersion, Input::Text, true),
        ];
        let submitted: Submitted = [
            ("kind", "data"),
            ("dataset.licence", "CC-BY-4.0"),
            ("skill", "  "),
            ("rule_set_version", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            body(&submitted, &fields, &["rule_set_version"]),
            serde_json::json!({"kind": "data", "dataset": {"licence": "CC-BY-4.0"}, "rule_set_version": 2})
        );
    }
}
