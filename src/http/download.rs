//! Streamed downloads: a blocking producer (a report reading the database
//! page by page) feeds the response through a bounded channel, so memory
//! stays flat whatever the size; and the one CSV writer every export goes
//! through, which neutralises formula-like text cells.

use std::borrow::Borrow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::web::Bytes;

use super::problem::ApiError;
use crate::db::Database;
use crate::domain::reports::{CellKind, Column, Line};

pub use crate::db::pages::{EXPORT_PAGE_ROWS, Halt};
/// Chunks buffered between the database reader and the client.
const EXPORT_CHUNKS_BUFFERED: usize = 4;
/// Bytes of CSV gathered before a chunk is handed to the client.
const EXPORT_CHUNK_BYTES: usize = 64 * 1024;

impl From<ApiError> for Halt {
    fn from(error: ApiError) -> Self {
        Halt::Failed(error.to_string())
    }
}

impl From<csv::Error> for Halt {
    fn from(error: csv::Error) -> Self {
        Halt::Failed(error.to_string())
    }
}

/// Where an export's bytes go.
pub type Sink<'a> = &'a mut dyn FnMut(Vec<u8>) -> Result<(), Halt>;

/// A response body fed by a blocking producer through a bounded channel.
pub struct ChannelBody(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Runs `produce` on a blocking thread and streams what it sends. A failure
/// after the first bytes cannot change the status any more: it is logged
/// and the response is cut short, so the client sees an incomplete body.
pub fn stream(
    db: Arc<Database>,
    produce: impl FnOnce(&Database, Sink<'_>) -> Result<(), Halt> + Send + 'static,
) -> ChannelBody {
    let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_CHUNKS_BUFFERED);
    actix_web::rt::task::spawn_blocking(move || {
        let mut send = |bytes: Vec<u8>| {
            sender
                .blocking_send(Ok(Bytes::from(bytes)))
                .map_err(|_| Halt::Gone)
        };
        match produce(&db, &mut send) {
            Ok(()) | Err(Halt::Gone) => {}
            Err(Halt::Failed(error)) => {
                tracing::error!(%error, "export failed");
                let _ = sender.blocking_send(Err(std::io::Error::other("export failed")));
            }
        }
    });
    ChannelBody(receiver)
}

/// A streamed download named `<project>-<report>-<period>.<extension>`.
pub fn download(
    db: Arc<Database>,
    content_type: &str,
    file_name: &str,
    produce: impl FnOnce(&Database, Sink<'_>) -> Result<(), Halt> + Send + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .streaming(stream(db, produce))
}

/// A streamed CSV download: the header row of `columns`, then the rows
/// `write` writes, all through the one writer.
pub fn csv_download(
    db: Arc<Database>,
    file_name: &str,
    columns: &'static [Column],
    write: impl FnOnce(&Database, &mut CsvOut<'_>) -> Result<(), Halt> + Send + 'static,
) -> HttpResponse {
    download(db, "text/csv; charset=utf-8", file_name, move |db, sink| {
        write_csv(sink, columns, |out| write(db, out))
    })
}

/// A CSV file into `sink`: the header row of `columns`, then the rows
/// `write` writes, all through the one writer (a download's and a report
/// bundle's file alike).
pub fn write_csv(
    sink: Sink<'_>,
    columns: &[Column],
    write: impl FnOnce(&mut CsvOut<'_>) -> Result<(), Halt>,
) -> Result<(), Halt> {
    let mut out = CsvOut::new(sink, columns)?;
    write(&mut out)?;
    out.finish()
}

/// Everything `produce` writes, gathered in memory.
pub fn collect(produce: impl FnOnce(Sink<'_>) -> Result<(), Halt>) -> Result<Vec<u8>, Halt> {
    let mut bytes = Vec::new();
    produce(&mut |chunk: Vec<u8>| {
        bytes.extend_from_slice(&chunk);
        Ok(())
    })?;
    Ok(bytes)
}

/// The snake_case name serde gives an enum value.
pub fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// First characters that make a spreadsheet read a cell as a formula (or,
/// for tab and carriage return, can hide one), per OWASP's CSV injection
/// guidance.
const FORMULA_TRIGGERS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// The cell as written: a text cell (or a number cell that is not a plain
/// decimal) starting with a formula trigger gets a leading apostrophe,
/// which spreadsheets take as "this is text".
pub fn neutralise(kind: CellKind, cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let number = kind == CellKind::Number && is_plain_decimal(cell);
    match cell.first() {
        Some(first) if !number && FORMULA_TRIGGERS.contains(first) => {
            let mut escaped = Vec::with_capacity(cell.len() + 1);
            escaped.push(b'\'');
            escaped.extend_from_slice(cell);
            std::borrow::Cow::Owned(escaped)
        }
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

/// `-?digits(.digits)?`, the form of every number the service writes.
fn is_plain_decimal(cell: &[u8]) -> bool {
    let unsigned = cell.strip_prefix(b"-").unwrap_or(cell);
    let (whole, fraction) = match unsigned.iter().position(|&b| b == b'.') {
        Some(point) => (&unsigned[..point], Some(&unsigned[point + 1..])),
        None => (unsigned, None),
    };
    let digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    digits(whole) && fraction.is_none_or(digits)
}

/// CSV written in chunks to a sink, every cell through [`neutralise`]
/// according to its column: the one place exports decide how a cell is
/// written.
pub struct CsvOut<'a> {
    writer: csv::Writer<Vec<u8>>,
    kinds: Vec<CellKind>,
    sink: Sink<'a>,
}

impl<'a> CsvOut<'a> {
    pub fn new(sink: Sink<'a>, columns: &[Column]) -> Result<Self, Halt> {
        let mut out = CsvOut {
            writer: csv::Writer::from_writer(Vec::with_capacity(EXPORT_CHUNK_BYTES)),
            kinds: columns.iter().map(|column| column.kind).collect(),
            sink,
        };
        out.writer
            .write_record(columns.iter().map(|column| column.name))?;
        Ok(out)
    }

    pub fn row<I, T>(&mut self, fields: I) -> Result<(), Halt>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut written = 0;
        for (index, field) in fields.into_iter().enumerate() {
            // A row longer than its header is a bug; its extra cells are text.
            let kind = self.kinds.get(index).copied().unwrap_or(CellKind::Text);
            self.writer.write_field(neutralise(kind, field.as_ref()))?;
            written += 1;
        }
        debug_assert_eq!(written, self.kinds.len(), "a row has one cell per column");
        self.writer.write_record(None::<&[u8]>)?;
        if self.writer.get_ref().len() >= EXPORT_CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes each of a report's `lines` as a row, in order.
    pub fn lines<L: Borrow<Line>>(
        &mut self,
        lines: impl IntoIterator<Item = L>,
    ) -> Result<(), Halt> {
        lines
            .into_iter()
            .try_for_each(|line| self.row(line.borrow().cells()))
    }

    pub fn flush(&mut self) -> Result<(), Halt> {
        let writer = std::mem::replace(
            &mut self.writer,
            csv::Writer::from_writer(Vec::with_capacity(EXPORT_CHUNK_BYTES)),
        );
        let chunk = writer
            .into_inner()
            .map_err(|e| Halt::Failed(e.to_string()))?;
        if chunk.is_empty() {
            return Ok(());
        }
        (self.sink)(chunk)
    }

    pub fn finish(mut self) -> Result<(), Halt> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_gets_an_apostrophe_and_numbers_stay_numbers() {
        let written = |kind, cell: &str| {
            String::from_utf8(neutralise(kind, cell.as_bytes()).into_owned()).expect("UTF-8")
        };
        for trigger in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = format!("{trigger}SUM(A1:A9)");
            assert_eq!(
                written(CellKind::Text, &cell),
                format!("'{cell}"),
                "{trigger:?}"
            );
            assert_eq!(
                written(CellKind::Number, &cell),
                format!("'{cell}"),
                "a number column's cell that is no number is text: {trigger:?}"
            );
        }
        for number in ["-12.00", "0", "312.50", "-0.01", "1357"] {
            assert_eq!(
                written(CellKind::Number, number),
                number,
                "amounts stay numbers"
            );
        }
        assert_eq!(
            written(CellKind::Text, "-12.00"),
            "'-12.00",
            "a text column's cell is text, even when it looks like a number"
        );
        for harmless in ["", "sensor calibration", "a=b", " =1", "'=1"] {
            assert_eq!(written(CellKind::Text, harmless), harmless);
        }
        for not_plain in ["-", "1.", ".5", "-1e5", "1.2.3", "--1"] {
            assert!(!is_plain_decimal(not_plain.as_bytes()), "{not_plain}");
        }
    }
}
