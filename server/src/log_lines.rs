//! One log line per event, whatever the event holds. Customer input (a
//! subject, a crash report, a login name) reaches the log in fields; were a
//! CR or LF in one written as it is, a client could make up log lines of its
//! own. The formatter writes each event with one `write`, ending in a line
//! feed: [`OneLinePerEvent`] writes every other CR, LF and control character
//! of it escaped (`\r`, `\n`, `\u{1b}`), so an event is always one line.
//! Fields are also logged debug-formatted (`?field`) where they come from a
//! client; this is the net under that.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Makes [`EscapingWriter`]s over standard output.
#[derive(Clone, Copy, Default)]
pub struct OneLinePerEvent;

impl<'a> MakeWriter<'a> for OneLinePerEvent {
    type Writer = EscapingWriter<io::Stdout>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(io::stdout())
    }
}

/// Writes what it is given with control characters escaped, except a final
/// line feed (and tabs).
pub struct EscapingWriter<W>(pub W);

/// `bytes` with control characters escaped, except a final line feed and tabs.
pub fn escape(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let (body, end): (&[u8], &[u8]) = match bytes.split_last() {
        Some((b'\n', body)) => (body, b"\n"),
        _ => (bytes, b""),
    };
    let unsafe_byte = |b: &u8| (b.is_ascii_control() && *b != b'\t') || *b == 0x7f;
    if !body.iter().any(unsafe_byte) {
        return bytes.into();
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b if unsafe_byte(&b) => out.extend_from_slice(format!("\\u{{{b:x}}}").as_bytes()),
            b => out.push(b),
        }
    }
    out.extend_from_slice(end);
    out.into()
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_one_line_whatever_its_fields_hold() {
        let line = b"WARN a widget crashed message=boom\r\n2026-12-03 INFO staff logged in\n";
        assert_eq!(
            escape(line).as_ref(),
            b"WARN a widget crashed message=boom\\r\\n2026-12-03 INFO staff logged in\n"
        );
        assert_eq!(escape(b"plain\tline\n").as_ref(), b"plain\tline\n");
        assert_eq!(escape(b"color \x1b[31m\n").as_ref(), b"color \\u{1b}[31m\n");
    }

    #[test]
    fn a_log_event_with_a_line_feed_in_a_field_is_written_as_one_line() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl Write for Captured {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || EscapingWriter(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let subject = "Order\n2026-12-03T00:00:00Z  INFO stufe: admin logged in";
            tracing::info!(subject = %subject, "email sent");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("Order\\n2026"), "{text}");
    }
}
