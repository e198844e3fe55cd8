//! Diagnostics with source spans, rendered as `file:line:col` plus the source line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, range: std::ops::Range<usize>) -> Span {
        Span {
            file,
            start: range.start,
            end: range.end,
        }
    }
    /// The span of the character at `offset` in `text` (which may point
    /// inside a character, as parser error offsets can), or an empty span at
    /// the end of the text. Always on character boundaries.
    pub fn char_at(file: FileId, text: &str, offset: usize) -> Span {
        let start = floor_char_boundary(text, offset);
        let end = text[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        Span { file, start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// One source file's text and line index.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset. An offset
    /// inside a character (or past the end) counts as that character's
    /// (or the end's) position.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset);
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line + 1, col)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let line = line.max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(line)
            .map(|e| e.saturating_sub(1))
            .unwrap_or(self.text.len());
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// Every source file of a spec, so spans can be rendered.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId((self.files.len() - 1) as u32)
    }
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    /// The file, if this map has it.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
    /// `path:line:col` of a span's start (`?` for a file not in this map).
    pub fn location(&self, span: Span) -> String {
        let Some(file) = self.get(span.file) else {
            return "?".to_string();
        };
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", display_path(&file.path))
    }
    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file)
            .and_then(|f| f.text.get(span.start..span.end))
            .unwrap_or("")
    }
}

/// The largest character boundary at or before `offset` (clamped to the
/// text). Offsets from parsers may point inside a multi-byte character;
/// slicing there would panic.
pub fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text without a leading UTF-8 byte order mark, which editors on
/// Windows write and HCL parsers reject.
pub fn strip_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found in a spec, pointing at where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Option<Span>,
    /// Extra lines: `help: did you mean ...`, the cycle's path, ...
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Option<Span>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            notes: Vec::new(),
        }
    }
    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span)
        }
    }
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders as a compiler would:
    ///
    /// ```text
    /// error: unknown argument "cidr_blok" for aws_vpc
    ///   --> main.tf:3:3
    ///    |
    ///  3 |   cidr_blok = "10.0.0.0/16"
    ///    |   ^^^^^^^^^
    ///    = help: did you mean "cidr_block"?
    /// ```
    pub fn render(&self, sources: &SourceMap) -> String {
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", self.message);
        if let Some((span, file)) = self
            .span
            .and_then(|span| Some((span, sources.get(span.file)?)))
        {
            let (line, col) = file.line_col(span.start);
            let text = file.line_text(line);
            let width = line.to_string().len();
            let _ = writeln!(out, "{:width$}--> {}", "", sources.location(span));
            let _ = writeln!(out, "{:width$} |", "");
            let (end_line, end_col) = file.line_col(span.end.max(span.start));
            let len = if end_line == line {
                end_col.saturating_sub(col).max(1)
            } else {
                text.chars().count().saturating_sub(col - 1).max(1)
            };
            let (shown, caret_at, caret_len) = window(text, col - 1, len);
            let _ = writeln!(out, "{line} | {shown}");
            let _ = writeln!(
                out,
                "{:width$} | {}{}",
                "",
                " ".repeat(caret_at),
                "^".repeat(caret_len)
            );
            for note in &self.notes {
                let _ = writeln!(out, "{:width$} = {note}", "");
            }
        } else {
            for note in &self.notes {
                let _ = writeln!(out, "  = {note}");
            }
        }
        out
    }
}

/// What a diagnostic says instead of a sensitive value.
pub const SENSITIVE: &str = "(sensitive value)";

/// Hides `secrets` (sensitive variables' values, as strings) in a message:
/// their quoted forms (`"Pa55w0rd"`, as messages quote values) always, and
/// their bare text when at least four characters long (shorter ones would
/// hide unrelated words). With `strong` (the message is about a value that
/// came from a secret), every quoted string that is part of a secret is
/// hidden too: a CIDR check that quotes the prefix length of a secret must
/// not show it.
pub fn redact_message(message: &str, secrets: &[String], strong: bool) -> String {
    let mut out = message.to_string();
    let mut by_length: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    // Longest first, so a secret that contains another is hidden whole.
    by_length.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in &by_length {
        out = out.replace(&format!("{secret:?}"), SENSITIVE);
    }
    if strong {
        out = redact_quoted(&out, |q| by_length.iter().any(|s| s.contains(q)));
    }
    for secret in by_length.iter().filter(|s| s.chars().count() >= 4) {
        out = out.replace(secret.as_str(), SENSITIVE);
    }
    out
}

/// Replaces every `"..."` segment of `text` (escapes as Rust's `{:?}`
/// writes them) whose content `hide` picks.
fn redact_quoted(text: &str, hide: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[start..]);
            return out;
        };
        let quoted = &after[..end];
        let content = quoted.replace("\\\"", "\"").replace("\\\\", "\\");
        if !content.is_empty() && hide(&content) {
            out.push_str(SENSITIVE);
        } else {
            out.push('"');
            out.push_str(quoted);
            out.push('"');
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

impl Diagnostic {
    /// The diagnostic with `secrets` hidden in its message and notes (see
    /// [`redact_message`]).
    pub fn redacted(mut self, secrets: &[String], strong: bool) -> Diagnostic {
        if secrets.is_empty() {
            return self;
        }
        self.message = redact_message(&self.message, secrets, strong);
        for note in &mut self.notes {
            *note = redact_message(note, secrets, strong);
        }
        self
    }
}

/// Characters of a source line a diagnostic shows.
const SHOWN_CHARS: usize = 120;

/// The part of a long line around a span (`…` where text is left out),
/// and where the span's `^` marks go in it: a 6,000-character line of
/// splats is not printed whole.
fn window(text: &str, col: usize, len: usize) -> (String, usize, usize) {
    let total = text.chars().count();
    if total <= SHOWN_CHARS {
        return (text.to_string(), col, len);
    }
    let start = col.saturating_sub(SHOWN_CHARS / 3).min(total - SHOWN_CHARS);
    let end = start + SHOWN_CHARS;
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(text.chars().skip(start).take(SHOWN_CHARS));
    if end < total {
        shown.push('…');
    }
    let caret_at = col - start + usize::from(start > 0);
    let caret_len = len.min(end.saturating_sub(col)).max(1);
    (shown, caret_at, caret_len)
}

/// Renders diagnostics one after another, with a closing count of errors.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render(sources));
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let _ = writeln!(
            out,
            "{errors} error{} found",
            if errors == 1 { "" } else { "s" }
        );
    }
    out
}

/// Diagnostics as data, in the shape of `terraform validate -json`
/// (`format_version` "1.0"), for editors and CI annotations: `valid`, the
/// counts, and each diagnostic's `severity`, `summary`, `detail` (its
/// notes) and `range` (file, and 1-based line and column of start and
/// end, with byte offsets), when it has a location.
pub fn to_json(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let pos = |file: &SourceFile, offset: usize| {
        let (line, column) = file.line_col(offset);
        serde_json::json!({"line": line, "column": column, "byte": offset})
    };
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut item = serde_json::json!({
                "severity": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "summary": d.message,
                "detail": d.notes.join("\n"),
            });
            if let Some((span, file)) = d.span.and_then(|s| Some((s, sources.get(s.file)?))) {
                item["range"] = serde_json::json!({
                    "filename": file.path.display().to_string(),
                    "start": pos(file, span.start),
                    "end": pos(file, span.end.max(span.start)),
                });
            }
            item
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    serde_json::json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.len() - errors,
        "diagnostics": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let f = SourceFile::new("a.tf".into(), "ab\n  é = 1\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_text(2), "  é = 1");
    }

    #[test]
    fn an_offset_inside_a_character_counts_as_that_character() {
        let f = SourceFile::new("a.tf".into(), "x = “y”\nΩ".into());
        // “ is bytes 4..7; offsets 5 and 6 are inside it.
        assert_eq!(f.line_col(5), (1, 5));
        assert_eq!(f.line_col(6), (1, 5));
        assert_eq!(f.line_col(usize::MAX), (2, 2));
        assert_eq!(f.line_text(0), "x = “y”");
        let span = Span::char_at(FileId(0), &f.text, 5);
        assert_eq!((span.start, span.end), (4, 7));
        let end = Span::char_at(FileId(0), &f.text, f.text.len() - 1);
        assert_eq!(&f.text[end.start..end.end], "Ω");
    }

    #[test]
    fn render_of_spans_inside_characters_or_unknown_files_does_not_panic() {
        let mut sources = SourceMap::default();
        let id = sources.add("main.tf".into(), "a = “b”\n".into());
        let d = Diagnostic::error("bad", Some(Span::new(id, 5..6)));
        assert!(d.render(&sources).contains("main.tf:1:5"));
        let elsewhere = Diagnostic::error("bad", Some(Span::new(FileId(7), 0..3)));
        assert_eq!(elsewhere.render(&sources), "error: bad\n");
        assert_eq!(sources.location(Span::new(FileId(7), 0..3)), "?");
    }

    #[test]
    fn redaction_hides_secrets_quoted_bare_and_in_parts() {
        let secrets = vec!["Pa55w0rd".to_string(), "10.0.0.1/33".to_string()];
        assert_eq!(
            redact_message("\"Pa55w0rd\" is not a valid CIDR block", &secrets, false),
            "(sensitive value) is not a valid CIDR block"
        );
        assert_eq!(
            redact_message("got Pa55w0rd/16", &secrets, false),
            "got (sensitive value)/16"
        );
        // Quoted parts of a secret only go with `strong`.
        let m = "\"10.0.0.1/33\" is invalid: got \"33\", like \"10.0.0.0/16\"";
        assert_eq!(
            redact_message(m, &secrets, true),
            "(sensitive value) is invalid: got (sensitive value), like \"10.0.0.0/16\""
        );
        assert_eq!(redact_message("got \"33\"", &secrets, false), "got \"33\"");
        // Short secrets are hidden only when quoted.
        let short = vec!["ab".to_string()];
        assert_eq!(
            redact_message("tab \"ab\"", &short, false),
            "tab (sensitive value)"
        );
    }

    #[test]
    fn a_long_line_is_shown_around_the_span() {
        let mut sources = SourceMap::default();
        let line = format!("x = var.l{}", "[*]".repeat(2000));
        let id = sources.add("main.tf".into(), format!("{line}\n"));
        let d = Diagnostic::error("too deep", Some(Span::new(id, 3000..6009)));
        let text = d.render(&sources);
        let lines: Vec<&str> = text.lines().collect();
        let shown = lines[3].strip_prefix("1 | ").expect("the source line");
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 2, "{shown}");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        // The caret is under the span's first character.
        let marks = lines[4].strip_prefix("  | ").expect("the caret line");
        let caret = marks.find('^').expect("a caret");
        assert_eq!(shown.chars().nth(caret), line.chars().nth(3000));
        let short = Diagnostic::error("x", Some(Span::new(id, 0..1))).render(&sources);
        assert!(short.contains("1 | x = var.l[*]"), "{short}");
    }

    #[test]
    fn render_points_at_the_span() {
        let mut sources = SourceMap::default();
        let id = sources.add("main.tf".into(), "x {\n  cidr_blok = 1\n}\n".into());
        let d = Diagnostic::error("unknown argument", Some(Span::new(id, 6..15)))
            .note("help: did you mean \"cidr_block\"?");
        let text = d.render(&sources);
        assert_eq!(
            text,
            "error: unknown argument\n --> main.tf:2:3\n  |\n2 |   cidr_blok = 1\n  |   ^^^^^^^^^\n  = help: did you mean \"cidr_block\"?\n"
        );
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn diagnostics_as_data_carry_file_line_column_and_notes() {
        let mut sources = SourceMap::default();
        let id = sources.add("main.tf".into(), "a = 1\n  bad = 2\n".into());
        let diags = vec![
            Diagnostic::error("unknown argument \"bad\"", Some(Span::new(id, 8..11)))
                .note("help: did you mean \"bat\"?"),
            Diagnostic::warning("no location", None),
        ];
        let j = to_json(&diags, &sources);
        assert_eq!(j["valid"], false);
        assert_eq!(j["error_count"], 1);
        assert_eq!(j["warning_count"], 1);
        let d = &j["diagnostics"][0];
        assert_eq!(d["severity"], "error");
        assert_eq!(d["summary"], "unknown argument \"bad\"");
        assert_eq!(d["detail"], "help: did you mean \"bat\"?");
        assert_eq!(d["range"]["filename"], "main.tf");
        assert_eq!(d["range"]["start"]["line"], 2);
        assert_eq!(d["range"]["start"]["column"], 3);
        assert_eq!(d["range"]["end"]["column"], 6);
        assert!(j["diagnostics"][1].get("range").is_none());
    }
}
