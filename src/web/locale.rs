//! The pages' languages (English and French) and how each writes amounts,
//! numbers and dates. Amounts are formatted from their exact decimal string,
//! digit by digit: never through a float.
//!
//! French groups thousands with a narrow no-break space (U+202F) and puts a
//! no-break space (U+00A0) before the currency sign: `1 357,24 €`. English
//! puts the euro sign first: `€1,357.24`.

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Fr,
}

/// The cookie that keeps a chosen language.
pub const COOKIE: &str = "cl_lang";

/// French's thousands separator: a narrow no-break space.
const FR_GROUP: char = '\u{202F}';
/// French's space before a currency sign: a no-break space.
const FR_BEFORE_SIGN: char = '\u{00A0}';

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    /// The language a request asks for: `?lang=` first, then the cookie,
    /// then the first language of `Accept-Language` the pages have
    /// (quality order), then English.
    pub fn choose(query: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Self {
        query
            .and_then(Self::parse)
            .or_else(|| cookie.and_then(Self::parse))
            .or_else(|| accept.and_then(Self::from_accept_language))
            .unwrap_or(Locale::En)
    }

    fn from_accept_language(header: &str) -> Option<Self> {
        let mut ranked: Vec<(u16, usize, Locale)> = Vec::new();
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, quality_per_mille);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(locale) = Self::parse(primary).filter(|_| quality > 0) {
                ranked.push((quality, position, locale));
            }
        }
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.first().map(|(_, _, locale)| *locale)
    }

    /// `amount` (a decimal string such as `-1357.24`) in `currency`, as
    /// this language writes it: `€1,357.24`, `1 357,24 €`; a currency
    /// without a sign here is written with its code (`1,000 JPY`).
    pub fn amount(self, amount: &str, currency: &str) -> String {
        let number = self.number(amount);
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => ("-", rest.to_owned()),
            None => ("", number),
        };
        match (self, currency_sign(currency)) {
            (Locale::En, Some(sign)) => format!("{negative}{sign}{digits}"),
            (Locale::En, None) => format!("{negative}{digits} {currency}"),
            (Locale::Fr, sign) => {
                format!(
                    "{negative}{digits}{FR_BEFORE_SIGN}{}",
                    sign.unwrap_or(currency)
                )
            }
        }
    }

    /// A decimal string with this language's grouping and decimal mark,
    /// every digit kept: `12.5` → `12.5` / `12,5`, `1200` → `1,200` / `1 200`.
    pub fn number(self, decimal: &str) -> String {
        let text = decimal.trim();
        let (sign, unsigned) = match text.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return text.to_owned();
        }
        let (group, mark) = match self {
            Locale::En => (',', '.'),
            Locale::Fr => (FR_GROUP, ','),
        };
        let mut grouped = String::new();
        for (index, digit) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(digit);
        }
        match fraction {
            Some(fraction) => format!("{sign}{grouped}{mark}{fraction}"),
            None => format!("{sign}{grouped}"),
        }
    }

    /// An ISO date (`2026-03-31`) as this language writes it:
    /// `31 March 2026` / `31 mars 2026`; anything else unchanged.
    pub fn date(self, iso: &str) -> String {
        let date = iso.get(..10).unwrap_or(iso);
        let mut parts = date.splitn(3, '-');
        let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next())
        else {
            return iso.to_owned();
        };
        let (Ok(month), Ok(day)) = (month.parse::<usize>(), day.parse::<u32>()) else {
            return iso.to_owned();
        };
        let names = match self {
            Locale::En => MONTHS_EN,
            Locale::Fr => MONTHS_FR,
        };
        match month.checked_sub(1).and_then(|m| names.get(m)) {
            Some(name) => format!("{day} {name} {year}"),
            None => iso.to_owned(),
        }
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `q=0.8` in thousandths (1000 when unreadable: the item counts fully).
fn quality_per_mille(text: &str) -> u16 {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: u16 = whole.parse().unwrap_or(1);
    let mut thousandths: u16 = 0;
    for (index, digit) in fraction.bytes().take(3).enumerate() {
        let value = u16::from(digit.wrapping_sub(b'0').min(9));
        thousandths += value * [100, 10, 1][index];
    }
    whole.min(1) * 1000 + if whole >= 1 { 0 } else { thousandths }
}

fn currency_sign(currency: &str) -> Option<&'static str> {
    match currency {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_per_language_from_the_exact_string() {
        assert_eq!(Locale::En.amount("1357.24", "EUR"), "€1,357.24");
        assert_eq!(
            Locale::Fr.amount("1357.24", "EUR"),
            "1\u{202F}357,24\u{A0}€"
        );
        assert_eq!(Locale::En.amount("-450.00", "EUR"), "-€450.00");
        assert_eq!(Locale::Fr.amount("0.10", "EUR"), "0,10\u{A0}€");
        assert_eq!(Locale::En.amount("1000", "JPY"), "1,000 JPY");
        assert_eq!(Locale::Fr.amount("1000", "JPY"), "1\u{202F}000\u{A0}JPY");
        // Beyond 2^53, every digit stays: the string is never a number.
        assert_eq!(
            Locale::En.amount("92233720368547758.07", "EUR"),
            "€92,233,720,368,547,758.07"
        );
    }

    #[test]
    fn numbers_keep_every_digit() {
        assert_eq!(Locale::En.number("12.5"), "12.5");
        assert_eq!(Locale::Fr.number("12.5"), "12,5");
        assert_eq!(Locale::En.number("100"), "100");
        assert_eq!(Locale::En.number("1000000"), "1,000,000");
        assert_eq!(Locale::En.number("not a number"), "not a number");
    }

    #[test]
    fn dates_are_written_per_language() {
        assert_eq!(Locale::En.date("2026-03-31"), "31 March 2026");
        assert_eq!(Locale::Fr.date("2026-08-01T10:00:00Z"), "1 août 2026");
        assert_eq!(Locale::Fr.date("2026-13-01"), "2026-13-01");
    }

    #[test]
    fn the_query_wins_then_the_cookie_then_accept_language() {
        assert_eq!(
            Locale::choose(Some("fr"), Some("en"), Some("en")),
            Locale::Fr
        );
        assert_eq!(Locale::choose(None, Some("fr"), Some("en")), Locale::Fr);
        assert_eq!(
            Locale::choose(None, None, Some("fr-FR,fr;q=0.9,en;q=0.8")),
            Locale::Fr
        );
        assert_eq!(
            Locale::choose(None, None, Some("de,en;q=0.5,fr;q=0.7")),
            Locale::Fr
        );
        assert_eq!(Locale::choose(None, None, Some("fr;q=0,en")), Locale::En);
        assert_eq!(Locale::choose(Some("xx"), None, Some("de")), Locale::En);
    }
}
