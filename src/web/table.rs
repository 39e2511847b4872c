//! The tables of the pages, drawn alike everywhere: a header row of column
//! names in the page's language (numeric columns right-aligned, `.num`),
//! a row's money figures as right-aligned amount cells, and "Nothing yet."
//! in place of a table whose list is empty, so that a reader never meets a
//! header row over no rows.

use maud::{Markup, html};
use serde_json::Value;

use super::messages::Key;
use super::visit::Visit;

/// A column of a table: its name, and whether it holds figures (which are
/// right-aligned, so that their digits line up).
pub enum Column {
    Text(Key),
    Num(Key),
}

/// A table's header row, the columns named in the visitor's language.
pub fn head(visit: &Visit, columns: &[Column]) -> Markup {
    html! {
        thead { tr {
            @for column in columns {
                @match column {
                    Column::Text(name) => { th scope="col" { (visit.t(*name)) } }
                    Column::Num(name) => { th.num scope="col" { (visit.t(*name)) } }
                }
            }
        } }
    }
}

/// A table of `rows` (each drawn by `row`) under `columns`, or "Nothing
/// yet." when there are none.
pub fn table_or_nothing<T>(
    visit: &Visit,
    columns: &[Column],
    rows: impl IntoIterator<Item = T>,
    row: impl Fn(T) -> Markup,
) -> Markup {
    let rows: Vec<Markup> = rows.into_iter().map(row).collect();
    html! {
        @if rows.is_empty() { p { (visit.t(Key::Nothing)) } } @else {
            table {
                (head(visit, columns))
                tbody { @for row in rows { (row) } }
            }
        }
    }
}

/// The cells of a row's amounts `fields` (the API's decimal strings), each
/// right-aligned and written in `currency` as the visitor reads money.
pub fn amounts(visit: &Visit, row: &Value, fields: &[&str], currency: &Value) -> Markup {
    html! {
        @for field in fields {
            td.num { (visit.amount(&row[*field], currency)) }
        }
    }
}
