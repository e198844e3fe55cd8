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

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end.max(start)].trim_end_matches('\r')
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
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
    /// `path:line:col` of a span's start.
    pub fn location(&self, span: Span) -> String {
        let file = self.file(span.file);
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", display_path(&file.path))
    }
    /// The source text a span covers.
    pub fn snippet(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        text.get(span.start..span.end).unwrap_or("")
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
        if let Some(span) = self.span {
            let file = sources.file(span.file);
            let (line, col) = file.line_col(span.start);
            let text = file.line_text(line);
            let width = line.to_string().len();
            let _ = writeln!(out, "{:width$}--> {}", "", sources.location(span));
            let _ = writeln!(out, "{:width$} |", "");
            let _ = writeln!(out, "{line} | {text}");
            let (end_line, end_col) = file.line_col(span.end.max(span.start));
            let len = if end_line == line {
                end_col.saturating_sub(col).max(1)
            } else {
                text.chars().count().saturating_sub(col - 1).max(1)
            };
            let _ = writeln!(
                out,
                "{:width$} | {}{}",
                "",
                " ".repeat(col - 1),
                "^".repeat(len)
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
