//! `fileset(path, pattern)`: the regular files under a directory whose
//! relative paths match a glob, with the syntax Terraform takes from the
//! `doublestar` library: `*`, `?`, `[a-z]`, `[^a]`, `{x,y}`, `\` escapes, and
//! `**` for any number of directories.

use std::path::{Path, PathBuf};

use super::{go_clean, set_of, Args, FuncError, FuncResult, Value};

/// Directory entries one call may look at: a pattern like `**/x` under a
/// large tree (or `/`) stops with an error instead of walking it all.
const MAX_VISITS: usize = 100_000;
/// Patterns `{a,b}` alternatives may expand to.
const MAX_ALTERNATIVES: usize = 1024;
/// Directory levels `**` descends.
const MAX_DEPTH: usize = 128;

pub(super) fn fn_fileset(a: &Args) -> FuncResult {
    let dir = a.string(0)?;
    let pattern = a.string(1)?;
    let base = if Path::new(&dir).is_absolute() {
        PathBuf::from(&dir)
    } else {
        a.base_dir.join(&dir)
    };
    let bad = || {
        a.err(format!(
            "failed to glob pattern {pattern:?}: syntax error in pattern"
        ))
    };
    let alternatives = expand_braces(&pattern).ok_or_else(bad)?;
    let mut walk = Walk {
        a,
        visits: 0,
        found: Vec::new(),
    };
    for alt in alternatives {
        // Terraform joins the pattern to the directory and cleans the result.
        let cleaned = go_clean(&alt);
        let cleaned = cleaned.trim_start_matches('/');
        if cleaned.is_empty() || cleaned == "." {
            continue;
        }
        let parts: Vec<Vec<Token>> = cleaned
            .split('/')
            .map(tokenize)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        walk.glob(&base, "", &parts, 0)?;
    }
    Ok(Value::List(set_of(
        walk.found.into_iter().map(Value::String).collect(),
    )))
}

/// `a{b,c{d,e}}` becomes `ab`, `acd`, `ace`; `None` for an unclosed brace
/// or too many alternatives.
fn expand_braces(pattern: &str) -> Option<Vec<String>> {
    let mut done = Vec::new();
    let mut pending = vec![pattern.to_string()];
    while let Some(p) = pending.pop() {
        let Some((open, close, options)) = first_brace(&p)? else {
            done.push(p);
            continue;
        };
        for option in options {
            pending.push(format!("{}{option}{}", &p[..open], &p[close + 1..]));
        }
        if done.len() + pending.len() > MAX_ALTERNATIVES {
            return None;
        }
    }
    Some(done)
}

/// The first top-level `{...}`: where it opens and closes, and its
/// comma-separated options. `Some(None)` when there is none, `None` when a
/// brace is not closed.
#[allow(clippy::type_complexity)]
fn first_brace(p: &str) -> Option<Option<(usize, usize, Vec<String>)>> {
    let bytes = p.as_bytes();
    let mut i = 0;
    let mut open = None;
    let mut depth = 0;
    let mut starts = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                if depth == 0 {
                    open = Some(i);
                    starts.push(i + 1);
                }
                depth += 1;
            }
            b',' if depth == 1 => starts.push(i + 1),
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let open = open?;
                    let mut options = Vec::new();
                    let ends = starts[1..].iter().map(|s| s - 1).chain([i]);
                    for (s, e) in starts.iter().zip(ends) {
                        options.push(p[*s..e].to_string());
                    }
                    return Some(Some((open, i, options)));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        None
    } else {
        Some(None)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Star,
    /// `**` alone as a path component.
    Dirs,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Lit(char),
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Any => true,
            Token::Lit(l) => *l == c,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
            Token::Star | Token::Dirs => false,
        }
    }
}

/// One path component of a pattern; `None` for bad syntax.
fn tokenize(component: &str) -> Option<Vec<Token>> {
    if component == "**" {
        return Some(vec![Token::Dirs]);
    }
    let chars: Vec<char> = component.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The character at `i`, taking a `\` escape; moves past it.
    let take = |i: &mut usize| -> Option<char> {
        let c = *chars.get(*i)?;
        *i += 1;
        if c == '\\' {
            let escaped = *chars.get(*i)?;
            *i += 1;
            return Some(escaped);
        }
        Some(c)
    };
    while i < chars.len() {
        let token = match chars[i] {
            '*' => Token::Star,
            '?' => Token::Any,
            '[' => {
                i += 1;
                let negated = matches!(chars.get(i), Some('^' | '!'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    if chars.get(i) == Some(&']') && !ranges.is_empty() {
                        break;
                    }
                    let lo = take(&mut i)?;
                    let hi = if chars.get(i) == Some(&'-') && chars.get(i + 1) != Some(&']') {
                        i += 1;
                        take(&mut i)?
                    } else {
                        lo
                    };
                    if hi < lo {
                        return None;
                    }
                    ranges.push((lo, hi));
                }
                Token::Class { negated, ranges }
            }
            '\\' => {
                out.push(Token::Lit(take(&mut i)?));
                continue;
            }
            other => Token::Lit(other),
        };
        out.push(token);
        i += 1;
    }
    Some(out)
}

/// Whether a name matches a component's tokens (`*` backtracks to the
/// latest star only, which is enough since every other token takes one
/// character).
fn matches(tokens: &[Token], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                star = Some((p, n));
                p += 1;
            }
            Some(t) if t.matches(name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == Token::Star)
}

/// A literal component's text, when it has no wildcard.
fn literal(tokens: &[Token]) -> Option<String> {
    tokens
        .iter()
        .map(|t| match t {
            Token::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

struct Walk<'a, 'b> {
    a: &'a Args<'b>,
    visits: usize,
    found: Vec<String>,
}

impl Walk<'_, '_> {
    fn glob(
        &mut self,
        dir: &Path,
        rel: &str,
        parts: &[Vec<Token>],
        depth: usize,
    ) -> Result<(), FuncError> {
        let Some((first, rest)) = parts.split_first() else {
            if std::fs::metadata(dir).is_ok_and(|m| m.is_file()) {
                self.found.push(go_clean(rel));
            }
            return Ok(());
        };
        if depth > MAX_DEPTH {
            return Err(self.a.err(format!(
                "the pattern descends more than {MAX_DEPTH} directories"
            )));
        }
        let join = |name: &str| {
            if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            }
        };
        if let Some(name) = literal(first) {
            return self.glob(&dir.join(&name), &join(&name), rest, depth + 1);
        }
        let dirs = first.as_slice() == [Token::Dirs];
        if dirs {
            self.glob(dir, rel, rest, depth + 1)?;
        }
        for (name, real_dir) in self.entries(dir)? {
            let child = dir.join(&name);
            if dirs && real_dir {
                // `**` takes this directory and may take more.
                self.glob(&child, &join(&name), parts, depth + 1)?;
            } else if dirs || matches(first, &name) {
                self.glob(&child, &join(&name), rest, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The names in a directory (none when it is not one or cannot be
    /// read) and whether each is a directory, not counting symbolic links
    /// (so `**` cannot loop).
    fn entries(&mut self, dir: &Path) -> Result<Vec<(String, bool)>, FuncError> {
        let Ok(read) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in read.flatten() {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                return Err(self.a.err(format!(
                    "the pattern looks at more than {MAX_VISITS} files and directories; \
                     make it more specific"
                )));
            }
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            out.push((name, real_dir));
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        matches(&tokenize(pattern).unwrap(), name)
    }

    #[test]
    fn components_match_like_doublestar() {
        assert!(m("*.txt", "hello.txt"));
        assert!(m("*", ".hidden"));
        assert!(!m("*.txt", "hello.txt.bak"));
        assert!(m("h?llo.*", "hallo.md"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[^a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(tokenize("[abc").is_none());
        assert!(tokenize("abc\\").is_none());
    }

    #[test]
    fn braces_expand() {
        let mut alts = expand_braces("files/{hello,world}.txt").unwrap();
        alts.sort();
        assert_eq!(alts, vec!["files/hello.txt", "files/world.txt"]);
        let mut nested = expand_braces("{a,b{c,d}}").unwrap();
        nested.sort();
        assert_eq!(nested, vec!["a", "bc", "bd"]);
        assert!(expand_braces("{a,b").is_none());
        assert!(expand_braces(&"{a,b}".repeat(20)).is_none());
    }
}
