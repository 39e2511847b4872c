//! The style sheet and the server-drawn charts (the page around every
//! page's content is [`Visit::document`](super::visit::Visit::document)):
//! an SVG bar chart that repeats figures a table beside it holds, so the
//! pages need no script.

use maud::{Markup, html};

use super::visit::Visit;

/// The style sheet, compiled into the binary.
pub const STYLE: &str = include_str!("static/web.css");

/// A bar for a chart: its label, its value as a decimal string, its class.
pub struct Bar<'a> {
    pub label: String,
    pub value: &'a str,
    pub class: &'static str,
}

/// Chart width and bar height, in SVG user units.
const CHART_WIDTH: i128 = 600;
const LABEL_WIDTH: i128 = 180;
const BAR_HEIGHT: i128 = 22;

/// A horizontal bar chart of `bars`, drawn on the server. Bar lengths are
/// proportional to the values, computed in integers (no floats); the figures
/// themselves are in the table the chart repeats, and in each bar's title.
pub fn bar_chart(visit: &Visit, caption: &str, bars: &[Bar<'_>]) -> Markup {
    let values: Vec<i128> = bars.iter().map(|b| scaled(b.value)).collect();
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let height = BAR_HEIGHT * i128::try_from(bars.len()).unwrap_or(0) + 4;
    let span = CHART_WIDTH - LABEL_WIDTH - 10;
    html! {
        figure.chart {
            svg role="img" aria-label=(caption) viewBox={ "0 0 " (CHART_WIDTH) " " (height) }
                width=(CHART_WIDTH) height=(height) xmlns="http://www.w3.org/2000/svg" {
                @for (index, (bar, value)) in bars.iter().zip(&values).enumerate() {
                    @let y = BAR_HEIGHT * i128::try_from(index).unwrap_or(0) + 2;
                    @let width = (value * span / max).max(1);
                    text x="0" y=(y + 15) font-size="13" fill="#1b1f24" { (bar.label) }
                    rect class=(bar.class) x=(LABEL_WIDTH) y=(y) width=(width) height=(BAR_HEIGHT - 6) {
                        title { (bar.label) ": " (visit.locale.number(bar.value)) }
                    }
                }
            }
            figcaption { (caption) }
        }
    }
}

/// A decimal string as an integer of its digits at a common scale (4
/// decimals): enough to compare lengths, exact, never a float.
fn scaled(decimal: &str) -> i128 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let mut digits: String = fraction.chars().take(4).collect();
    while digits.len() < 4 {
        digits.push('0');
    }
    format!("{whole}{digits}")
        .parse::<i128>()
        .unwrap_or(0)
        .max(0)
}

/// The style sheet's response.
pub async fn style() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header(("content-type", "text/css; charset=utf-8"))
        .insert_header(("cache-control", "public, max-age=3600"))
        .body(STYLE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_scaled_exactly() {
        assert_eq!(super::scaled("1357.24"), 13_572_400);
        assert_eq!(super::scaled("12.5"), 125_000);
        assert_eq!(super::scaled("100"), 1_000_000);
        assert_eq!(super::scaled("-3"), 0);
    }
}
