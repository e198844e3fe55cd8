//! A scan of spec text for how deeply brackets and template interpolations
//! nest, before hcl-edit parses it.
//!
//! hcl-edit's parser recurses once per nested level and stops at 64 levels,
//! but in an unoptimised build some levels (for-expressions, heredocs) take
//! about 30 KiB of stack each: 64 of them come close to the 2 MiB of a
//! thread such as tokio's workers. Text nested deeper than
//! [`MAX_NESTING`] is reported here instead, with its location.

/// Brackets (`(`, `[`, `{`) and interpolations (`${`, `%{`) open at once.
/// Real specs stay under a dozen (a policy document inside `jsonencode`).
pub const MAX_NESTING: usize = 32;

/// Where the text starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// HCL: a body or an expression.
    Code,
    /// A template file (as `templatefile` reads it).
    Template,
}

#[derive(Debug)]
enum Ctx {
    /// `(`, `[` or `{` in code.
    Bracket,
    /// `${` or `%{` inside a string, heredoc or template.
    Interpolation,
    /// A quoted string.
    Str,
    /// A heredoc's lines, up to a line holding only `marker`.
    Heredoc { marker: String },
    /// A template file's text.
    Template,
}

/// The message for text nested too deeply.
pub fn message() -> String {
    format!(
        "expressions nested more than {MAX_NESTING} levels deep; split them up with local values"
    )
}

/// The byte offset of the first bracket or interpolation that opens more
/// than `max` levels, if any.
pub fn too_deep(text: &str, start: Start, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Ctx> = Vec::new();
    if start == Start::Template {
        stack.push(Ctx::Template);
    }
    let mut depth = 0usize;
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        let at_line_start = line_start;
        line_start = b == b'\n';
        match stack.last() {
            None | Some(Ctx::Bracket) | Some(Ctx::Interpolation) => match b {
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return Some(i);
                    }
                    stack.push(Ctx::Bracket);
                }
                b')' | b']' | b'}' => {
                    if matches!(stack.last(), Some(Ctx::Bracket) | Some(Ctx::Interpolation)) {
                        stack.pop();
                        depth = depth.saturating_sub(1);
                    }
                }
                b'"' => stack.push(Ctx::Str),
                b'#' => i = line_end(bytes, i),
                b'/' if bytes.get(i + 1) == Some(&b'/') => i = line_end(bytes, i),
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = text[i + 2..]
                        .find("*/")
                        .map_or(bytes.len(), |e| i + 2 + e + 1);
                }
                b'<' if bytes.get(i + 1) == Some(&b'<') => {
                    if let Some((marker, body)) = heredoc_start(bytes, i) {
                        stack.push(Ctx::Heredoc { marker });
                        i = body;
                        line_start = true;
                        continue;
                    }
                }
                _ => {}
            },
            Some(Ctx::Str) => match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                // Quoted strings end at the line: resynchronise on bad input.
                b'\n' => {
                    stack.pop();
                }
                _ => match template_byte(bytes, i, &mut stack, &mut depth, max) {
                    Ok(last) => i = last,
                    Err(at) => return Some(at),
                },
            },
            Some(Ctx::Heredoc { marker }) => {
                if at_line_start {
                    let end = line_end(bytes, i);
                    let line = text.get(i..end).unwrap_or("").trim();
                    if line == marker {
                        stack.pop();
                        i = end;
                        continue;
                    }
                }
                match template_byte(bytes, i, &mut stack, &mut depth, max) {
                    Ok(last) => i = last,
                    Err(at) => return Some(at),
                }
            }
            Some(Ctx::Template) => match template_byte(bytes, i, &mut stack, &mut depth, max) {
                Ok(last) => i = last,
                Err(at) => return Some(at),
            },
        }
        i += 1;
    }
    None
}

/// One byte of template text at `i`: an interpolation opens a level (`$${`
/// and `%%{` are escapes). Returns the index of the last byte consumed, or
/// `Err` with the offset of an opening past `max`.
fn template_byte(
    bytes: &[u8],
    i: usize,
    stack: &mut Vec<Ctx>,
    depth: &mut usize,
    max: usize,
) -> Result<usize, usize> {
    let b = bytes[i];
    let next = bytes.get(i + 1).copied();
    if (b == b'$' || b == b'%') && next == Some(b) && bytes.get(i + 2) == Some(&b'{') {
        return Ok(i + 2);
    }
    if (b == b'$' || b == b'%') && next == Some(b'{') {
        *depth += 1;
        if *depth > max {
            return Err(i);
        }
        stack.push(Ctx::Interpolation);
        return Ok(i + 1);
    }
    Ok(i)
}

/// The index of the newline ending the line at `i` (or the text's end).
fn line_end(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| i + p)
}

/// `<<EOT` or `<<-EOT` at `i`, then a newline: the marker and the index
/// where the heredoc's first line starts.
fn heredoc_start(bytes: &[u8], i: usize) -> Option<(String, usize)> {
    let mut j = i + 2;
    if bytes.get(j) == Some(&b'-') {
        j += 1;
    }
    let name_start = j;
    while bytes
        .get(j)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        j += 1;
    }
    if j == name_start {
        return None;
    }
    let marker = String::from_utf8_lossy(&bytes[name_start..j]).into_owned();
    let mut k = j;
    while bytes.get(k) == Some(&b'\r') || bytes.get(k) == Some(&b' ') {
        k += 1;
    }
    (bytes.get(k) == Some(&b'\n')).then_some((marker, k + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, max: usize) -> bool {
        too_deep(text, Start::Code, max).is_none()
    }

    #[test]
    fn brackets_and_interpolations_count_but_strings_and_comments_do_not() {
        assert!(depth_ok("x = [[1]]", 2));
        assert!(!depth_ok("x = [[[1]]]", 2));
        assert_eq!(too_deep("x = [[[1]]]", Start::Code, 2), Some(6));
        assert!(depth_ok("x = \"((((((\"", 1));
        assert!(depth_ok("x = \"$${((((\"", 1));
        assert!(depth_ok("# ((((((\nx = 1 // [[[[[\n/* {{{{ */", 0));
        assert!(!depth_ok("x = \"${\"${\"${1}\"}\"}\"", 2));
        assert!(depth_ok("x = \"${\"${1}\"}\"", 2));
        assert!(depth_ok("x = \"\\\"(((\"", 0));
    }

    #[test]
    fn heredocs_are_templates_until_their_marker() {
        let text = "x = <<-EOT\n  ((((( ${[1]}\n  EOT\ny = [1]\n";
        assert!(depth_ok(text, 2));
        assert!(!depth_ok(text, 1));
        // Not a heredoc: `<<` without a marker and newline.
        assert!(depth_ok("x = 1 << 2", 0));
    }

    #[test]
    fn template_files_start_in_template_text() {
        assert!(too_deep("((((( %{ if x }${y}%{ endif }", Start::Template, 1).is_none());
        assert!(too_deep("${ [ [ 1 ] ] }", Start::Template, 2).is_some());
    }

    #[test]
    fn closing_more_than_was_opened_does_not_underflow() {
        assert!(depth_ok("))]]}} x = [1]", 1));
    }
}
