//! The layout of values and attribute changes that the text and Markdown
//! plans share: Terraform's block style, one attribute per line, nested
//! blocks as blocks, null and empty values left out, collections and JSON
//! documents that do not fit on a line spread over several, and long
//! strings wrapped, so that no line grows past [`MAX_LINE`].
//!
//! Values are first turned into [`Shown`] (from the engine's `Value`s for
//! the text plan, from the plan document's JSON for Markdown), then laid
//! out as [`Line`]s that each rendering prints its own way.

use std::collections::BTreeMap;

/// Lines are laid out to stay within this many characters...
pub const TARGET_WIDTH: usize = 100;
/// ...and never grow past this many (long strings are wrapped).
pub const MAX_LINE: usize = 160;

/// The ownership tags stackd adds to every taggable resource.
const OWNERSHIP_TAG_PREFIX: &str = "stackd:";

/// A value as a plan shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Shown {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    List(Vec<Shown>),
    Map(BTreeMap<String, Shown>),
    /// Known only after apply.
    Unknown,
    /// Not to be shown.
    Sensitive,
}

impl Shown {
    /// From the engine's value.
    pub fn from_value(v: &stackd_spec::Value) -> Shown {
        use stackd_spec::Value;
        match v {
            Value::Null => Shown::Null,
            Value::Bool(b) => Shown::Bool(*b),
            Value::Number(n) => Shown::Number(stackd_spec::value::format_number(*n)),
            Value::String(s) => Shown::Str(s.clone()),
            Value::List(items) => Shown::List(items.iter().map(Shown::from_value).collect()),
            Value::Map(m) => Shown::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Shown::from_value(v)))
                    .collect(),
            ),
            Value::Unknown => Shown::Unknown,
        }
    }

    /// From a plan document's JSON, where `{"unknown": true}` and
    /// `{"sensitive": true}` stand for values it does not show.
    pub fn from_plan_json(v: &serde_json::Value) -> Shown {
        use serde_json::Value as J;
        match v {
            J::Object(m) if m.len() == 1 && m.get("unknown") == Some(&J::Bool(true)) => {
                Shown::Unknown
            }
            J::Object(m) if m.len() == 1 && m.get("sensitive") == Some(&J::Bool(true)) => {
                Shown::Sensitive
            }
            other => Shown::from_json(other),
        }
    }

    /// From plain JSON (a JSON document held in a string attribute).
    fn from_json(v: &serde_json::Value) -> Shown {
        use serde_json::Value as J;
        match v {
            J::Null => Shown::Null,
            J::Bool(b) => Shown::Bool(*b),
            J::Number(n) => Shown::Number(n.to_string()),
            J::String(s) => Shown::Str(s.clone()),
            J::Array(items) => Shown::List(items.iter().map(Shown::from_plan_json).collect()),
            J::Object(m) => Shown::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Shown::from_plan_json(v)))
                    .collect(),
            ),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Shown::Null)
    }

    /// Null, or an empty collection: left out of a new object.
    fn is_empty(&self) -> bool {
        match self {
            Shown::Null => true,
            Shown::List(l) => l.is_empty(),
            Shown::Map(m) => m.is_empty(),
            _ => false,
        }
    }

    /// Nested blocks are lists of objects: `ingress { ... }` rather than
    /// `ingress = [{ ... }]`.
    fn is_blocks(&self) -> bool {
        matches!(self, Shown::List(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i, Shown::Map(_))))
    }

    /// A string holding a JSON object or array (a policy, container
    /// definitions): shown as `jsonencode(...)` of its structure.
    fn as_json_document(&self) -> Option<Shown> {
        let Shown::Str(s) = self else { return None };
        let t = s.trim_start();
        if !(t.starts_with('{') || t.starts_with('[')) {
            return None;
        }
        match serde_json::from_str::<serde_json::Value>(s) {
            Ok(j @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                Some(Shown::from_json(&j))
            }
            _ => None,
        }
    }

    /// The value on one line.
    pub fn inline(&self) -> String {
        match self {
            Shown::Null => "null".into(),
            Shown::Bool(b) => b.to_string(),
            Shown::Number(n) => n.clone(),
            Shown::Str(s) => quote(s),
            Shown::Unknown => "(known after apply)".into(),
            Shown::Sensitive => "(sensitive value)".into(),
            Shown::List(items) => {
                let parts: Vec<String> = items.iter().map(Shown::inline).collect();
                format!("[{}]", parts.join(", "))
            }
            Shown::Map(m) if m.is_empty() => "{}".into(),
            Shown::Map(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{} = {}", key(k), v.inline()))
                    .collect();
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }
}

/// A string literal as HCL writes it.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A map key or attribute name: bare when it is an identifier, else quoted.
fn key(k: &str) -> String {
    let mut chars = k.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if identifier {
        k.to_string()
    } else {
        quote(k)
    }
}

/// What a line stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Added (`+`).
    Add,
    /// Removed (`-`).
    Remove,
    /// Changed in place (`~`).
    Change,
    /// Replaced (`-/+`).
    Replace,
    /// Read during apply (`<=`).
    Read,
    /// Context: a closing brace, an unchanged value, a note.
    None,
}

/// One line of a laid-out plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Nesting depth (0: a resource's header).
    pub depth: usize,
    pub sign: Sign,
    /// The rest of a multi-line value whose first line carries the sign:
    /// unsigned in the text plan, signed like its first line in Markdown.
    pub cont: bool,
    pub text: String,
}

/// How values are laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Show the `stackd:*` ownership tags (`-v`).
    pub ownership_tags: bool,
}

/// Collects lines, and whether ownership tags were left out.
#[derive(Debug, Default)]
pub struct Layout {
    pub lines: Vec<Line>,
    pub opts: Options,
    /// Some `stackd:*` tags were not shown.
    pub hid_ownership_tags: bool,
    /// Inside a JSON document, lists of objects are lists, not blocks.
    in_json: usize,
}

/// The columns a line's own text starts at, at `depth`, in the text plan
/// (two for the margin, four per level, two for the sign).
pub fn indent_width(depth: usize) -> usize {
    2 + 4 * depth + 2
}

impl Layout {
    pub fn new(opts: Options) -> Layout {
        Layout {
            opts,
            ..Layout::default()
        }
    }

    pub fn push(&mut self, depth: usize, sign: Sign, text: impl Into<String>) {
        self.lines.push(Line {
            depth,
            sign,
            cont: false,
            text: text.into(),
        });
    }

    fn push_cont(&mut self, depth: usize, sign: Sign, text: impl Into<String>) {
        self.lines.push(Line {
            depth,
            sign,
            cont: true,
            text: text.into(),
        });
    }

    /// A hidden-count note: `# (3 unchanged attributes hidden)`.
    fn hidden(&mut self, depth: usize, n: usize, what: &str) {
        if n > 0 {
            let s = if n == 1 { "" } else { "s" };
            self.push(
                depth,
                Sign::None,
                format!("# ({n} unchanged {what}{s} hidden)"),
            );
        }
    }

    /// Leaves out `stackd:*` keys of a tags map unless asked for them.
    fn tags_shown(&mut self, name: &str, v: &Shown) -> Shown {
        match v {
            Shown::Map(m) if is_tags(name) && !self.opts.ownership_tags => {
                let kept: BTreeMap<String, Shown> = m
                    .iter()
                    .filter(|(k, _)| !k.starts_with(OWNERSHIP_TAG_PREFIX))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if kept.len() != m.len() {
                    self.hid_ownership_tags = true;
                }
                Shown::Map(kept)
            }
            other => other.clone(),
        }
    }

    /// The attributes and nested blocks of a new object (a created
    /// resource, an added block): attributes first, aligned, then blocks;
    /// null and empty values left out.
    pub fn object(&mut self, attrs: &BTreeMap<String, Shown>, depth: usize, sign: Sign) {
        let mut plain = Vec::new();
        let mut blocks = Vec::new();
        for (name, v) in attrs {
            let v = self.tags_shown(name, v);
            if v.is_empty() {
                continue;
            }
            if v.is_blocks() {
                blocks.push((name, v));
            } else {
                plain.push((name, v));
            }
        }
        let width = plain.iter().map(|(k, _)| key(k).len()).max().unwrap_or(0);
        for (name, v) in &plain {
            let prefix = format!("{:width$} = ", key(name));
            self.value(prefix, v, depth, sign, "");
        }
        for (name, v) in blocks {
            if let Shown::List(items) = v {
                for item in &items {
                    self.block(name, item, depth, sign);
                }
            }
        }
    }

    /// `name { ... }` of a new or removed block.
    fn block(&mut self, name: &str, item: &Shown, depth: usize, sign: Sign) {
        self.push(depth, sign, format!("{} {{", key(name)));
        if let Shown::Map(m) = item {
            self.object(m, depth + 1, sign);
        }
        self.push_cont(depth, sign, "}");
    }

    /// `prefix` followed by `v`: on one line when it fits, else spread
    /// over several. `suffix` ends the value (`,` in a list).
    pub fn value(&mut self, prefix: String, v: &Shown, depth: usize, sign: Sign, suffix: &str) {
        if let Some(doc) = v.as_json_document() {
            let one_line = format!("{prefix}jsonencode({}){suffix}", doc.inline());
            if indent_width(depth) + one_line.chars().count() <= TARGET_WIDTH {
                self.push(depth, sign, one_line);
            } else {
                self.push(depth, sign, format!("{prefix}jsonencode("));
                self.value_cont(String::new(), &doc, depth + 1, sign, "");
                self.push_cont(depth, sign, format!("){suffix}"));
            }
            return;
        }
        let one_line = format!("{prefix}{}{suffix}", v.inline());
        let fits = indent_width(depth) + one_line.chars().count() <= TARGET_WIDTH;
        match v {
            _ if fits => self.push(depth, sign, one_line),
            Shown::List(items) => {
                self.push(depth, sign, format!("{prefix}["));
                for item in items {
                    self.value_cont(String::new(), item, depth + 1, sign, ",");
                }
                self.push_cont(depth, sign, format!("]{suffix}"));
            }
            Shown::Map(m) => {
                self.push(depth, sign, format!("{prefix}{{"));
                let entries: Vec<_> = m.iter().filter(|(_, v)| !v.is_null()).collect();
                let width = entries.iter().map(|(k, _)| key(k).len()).max().unwrap_or(0);
                for (k, v) in entries {
                    self.value_cont(format!("{:width$} = ", key(k)), v, depth + 1, sign, "");
                }
                self.push_cont(depth, sign, format!("}}{suffix}"));
            }
            Shown::Str(s) if s.contains('\n') => {
                self.push(depth, sign, format!("{prefix}<<-EOT"));
                let room = TARGET_WIDTH.saturating_sub(indent_width(depth + 1)).max(40);
                for line in s.trim_end_matches('\n').split('\n') {
                    for piece in text_pieces(line, room) {
                        self.push_cont(depth + 1, sign, piece);
                    }
                }
                self.push_cont(depth, sign, format!("EOT{suffix}"));
            }
            Shown::Str(s) if indent_width(depth) + one_line.chars().count() > MAX_LINE => {
                // One long line: `join` of pieces keeps it valid HCL.
                self.push(depth, sign, format!("{prefix}join(\"\", ["));
                let room = MAX_LINE - indent_width(depth + 1) - 3;
                for piece in wrap(s, room.max(20)) {
                    self.push_cont(depth + 1, sign, format!("{},", quote(&piece)));
                }
                self.push_cont(depth, sign, format!("]){suffix}"));
            }
            _ => self.push(depth, sign, one_line),
        }
    }

    /// [`Layout::value`] for the inside of a multi-line value: its lines
    /// are continuations of the value's first line.
    fn value_cont(&mut self, prefix: String, v: &Shown, depth: usize, sign: Sign, suffix: &str) {
        let start = self.lines.len();
        self.value(prefix, v, depth, sign, suffix);
        for line in &mut self.lines[start..] {
            line.cont = true;
        }
    }

    /// One attribute's change: `~ name = before -> after`, or, for blocks,
    /// collections, JSON documents and multi-line strings, what was added,
    /// removed and changed inside them. `width` aligns the name with its
    /// neighbours; `note` ends the first line (`# forces replacement`).
    pub fn change(
        &mut self,
        name: &str,
        width: usize,
        before: &Shown,
        after: &Shown,
        depth: usize,
        note: &str,
    ) {
        let (before, after) = (
            &self.tags_shown_in_change(name, before, after),
            &self.tags_shown_in_change(name, after, before),
        );
        let k = format!("{:width$}", key(name));
        let start = self.lines.len();
        let blocks = self.in_json == 0 && (before.is_blocks() || after.is_blocks());
        match (before, after) {
            (Shown::Sensitive, _) | (_, Shown::Sensitive) => {
                self.push(depth, Sign::Change, format!("{k} = (sensitive value)"));
            }
            (b, a) if b == a => {}
            (b, a) if blocks && b.is_empty() => self.object(
                &BTreeMap::from([(name.to_string(), a.clone())]),
                depth,
                Sign::Add,
            ),
            (b, a) if blocks && a.is_empty() => self.object(
                &BTreeMap::from([(name.to_string(), b.clone())]),
                depth,
                Sign::Remove,
            ),
            (b, a) if b.is_null() => self.value(format!("{k} = "), a, depth, Sign::Add, ""),
            (b, a) if a.is_null() => {
                self.value(format!("{k} = "), b, depth, Sign::Remove, " -> null")
            }
            (Shown::List(b), Shown::List(a)) if blocks => self.blocks_change(name, b, a, depth),
            (Shown::Map(b), Shown::Map(a)) => {
                self.push(depth, Sign::Change, format!("{k} = {{"));
                self.entries_change(b, a, depth + 1, "element");
                self.push(depth, Sign::None, "}");
            }
            (Shown::List(b), Shown::List(a)) if !self.fits_change(&k, before, after, depth) => {
                self.push(depth, Sign::Change, format!("{k} = ["));
                self.list_change(b, a, depth + 1);
                self.push(depth, Sign::None, "]");
            }
            (b, a) if b.as_json_document().is_some() && a.as_json_document().is_some() => {
                let (Some(b), Some(a)) = (b.as_json_document(), a.as_json_document()) else {
                    return;
                };
                if b == a {
                    // Only the formatting differs.
                    self.push(
                        depth,
                        Sign::Change,
                        format!("{k} = jsonencode(...) # reformatted"),
                    );
                } else {
                    self.push(depth, Sign::Change, format!("{k} = jsonencode("));
                    self.in_json += 1;
                    self.item_change(&b, &a, depth + 1, "");
                    self.in_json -= 1;
                    self.push(depth, Sign::None, ")");
                }
            }
            (Shown::Str(b), Shown::Str(a)) if b.contains('\n') || a.contains('\n') => {
                self.push(depth, Sign::Change, format!("{k} = <<-EOT"));
                self.text_change(b, a, depth + 1);
                self.push(depth, Sign::None, "EOT");
            }
            (b, a) if self.fits_change(&k, b, a, depth) => self.push(
                depth,
                Sign::Change,
                format!("{k} = {} -> {}", b.inline(), a.inline()),
            ),
            (b, a) => {
                self.value(format!("{k} = "), b, depth, Sign::Remove, "");
                self.value(format!("{k} = "), a, depth, Sign::Add, "");
            }
        }
        if !note.is_empty() {
            if let Some(first) = self.lines.get_mut(start) {
                first.text.push_str(note);
            }
        }
    }

    /// Ownership tags are hidden in a change too, unless they are what
    /// changed (`other` is the other side of the change).
    fn tags_shown_in_change(&mut self, name: &str, v: &Shown, other: &Shown) -> Shown {
        match (v, other) {
            (Shown::Map(m), Shown::Map(o)) if is_tags(name) && !self.opts.ownership_tags => {
                let kept: BTreeMap<String, Shown> = m
                    .iter()
                    .filter(|(k, v)| !k.starts_with(OWNERSHIP_TAG_PREFIX) || o.get(*k) != Some(v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if kept.len() != m.len() {
                    self.hid_ownership_tags = true;
                }
                Shown::Map(kept)
            }
            _ => v.clone(),
        }
    }

    fn fits_change(&self, k: &str, b: &Shown, a: &Shown, depth: usize) -> bool {
        let line = format!("{k} = {} -> {}", b.inline(), a.inline());
        indent_width(depth) + line.chars().count() <= TARGET_WIDTH
            && !matches!(b, Shown::Str(s) if s.contains('\n'))
            && !matches!(a, Shown::Str(s) if s.contains('\n'))
    }

    /// The entries of two maps or objects: added, removed, changed, and a
    /// count of the unchanged ones.
    fn entries_change(
        &mut self,
        b: &BTreeMap<String, Shown>,
        a: &BTreeMap<String, Shown>,
        depth: usize,
        what: &str,
    ) {
        let names: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        let mut unchanged = 0;
        let mut changed = Vec::new();
        for name in names {
            let before = b.get(name).unwrap_or(&Shown::Null);
            let after = a.get(name).unwrap_or(&Shown::Null);
            if before == after || (before.is_empty() && after.is_empty()) {
                unchanged += usize::from(!before.is_null());
            } else {
                changed.push((name, before, after));
            }
        }
        let width = changed
            .iter()
            .map(|(k, _, _)| key(k).len())
            .max()
            .unwrap_or(0);
        for (name, before, after) in changed {
            self.change(name, width, before, after, depth, "");
        }
        self.hidden(depth, unchanged, what);
    }

    /// Nested blocks: those on both sides are unchanged; of the rest, as
    /// many as there are on both sides are shown changed in place, pair by
    /// pair, and the others added or removed.
    fn blocks_change(&mut self, name: &str, b: &[Shown], a: &[Shown], depth: usize) {
        let (gone, new, unchanged) = unmatched(b, a);
        let paired = gone.len().min(new.len());
        for (old, now) in gone.iter().zip(&new).take(paired) {
            self.push(depth, Sign::Change, format!("{} {{", key(name)));
            if let (Shown::Map(o), Shown::Map(n)) = (old, now) {
                self.entries_change(o, n, depth + 1, "attribute");
            }
            self.push(depth, Sign::None, "}");
        }
        for old in &gone[paired..] {
            self.block(name, old, depth, Sign::Remove);
        }
        for now in &new[paired..] {
            self.block(name, now, depth, Sign::Add);
        }
        self.hidden(depth, unchanged, "block");
    }

    /// Items of two lists: those on both sides are counted; objects left on
    /// both sides are shown changed pair by pair, anything else removed or
    /// added whole.
    fn list_change(&mut self, b: &[Shown], a: &[Shown], depth: usize) {
        let (gone, new, unchanged) = unmatched(b, a);
        let objects = |v: &[Shown]| v.iter().all(|i| matches!(i, Shown::Map(_)));
        let paired = if objects(&gone) && objects(&new) {
            gone.len().min(new.len())
        } else {
            0
        };
        for (old, now) in gone.iter().zip(&new).take(paired) {
            self.item_change(old, now, depth, ",");
        }
        for old in &gone[paired..] {
            self.value(String::new(), old, depth, Sign::Remove, ",");
        }
        for now in &new[paired..] {
            self.value(String::new(), now, depth, Sign::Add, ",");
        }
        self.hidden(depth, unchanged, "element");
    }

    /// One item (of a list, or a whole JSON document) changed: objects
    /// entry by entry, lists item by item, anything else removed and added.
    fn item_change(&mut self, b: &Shown, a: &Shown, depth: usize, suffix: &str) {
        match (b, a) {
            (Shown::Map(bm), Shown::Map(am)) => {
                self.push(depth, Sign::Change, "{");
                self.entries_change(bm, am, depth + 1, "attribute");
                self.push(depth, Sign::None, format!("}}{suffix}"));
            }
            (Shown::List(bl), Shown::List(al)) => {
                self.push(depth, Sign::Change, "[");
                self.list_change(bl, al, depth + 1);
                self.push(depth, Sign::None, format!("]{suffix}"));
            }
            _ => {
                self.value(String::new(), b, depth, Sign::Remove, suffix);
                self.value(String::new(), a, depth, Sign::Add, suffix);
            }
        }
    }

    /// A multi-line string changed: its lines, with removed and added ones
    /// marked and runs of unchanged ones cut short.
    fn text_change(&mut self, b: &str, a: &str, depth: usize) {
        let room = TARGET_WIDTH.saturating_sub(indent_width(depth)).max(40);
        let mut context = Vec::new();
        let flush = |l: &mut Layout, context: &mut Vec<&str>, last: bool| {
            // Keep a line of context on each side of a change.
            let n = context.len();
            for (i, line) in context.iter().enumerate() {
                let near = i == 0 && !l.lines.is_empty() || (i + 1 == n && !last);
                if near || n <= 3 {
                    for piece in text_pieces(line, room) {
                        l.push(depth, Sign::None, piece);
                    }
                } else if i == 1 {
                    l.hidden(depth, n - 2, "line");
                }
            }
            context.clear();
        };
        for op in line_diff(b, a) {
            match op {
                LineOp::Same(line) => context.push(line),
                LineOp::Gone(line) | LineOp::New(line) => {
                    flush(self, &mut context, false);
                    let sign = if matches!(op, LineOp::Gone(_)) {
                        Sign::Remove
                    } else {
                        Sign::Add
                    };
                    for piece in text_pieces(line, room) {
                        self.push(depth, sign, piece);
                    }
                }
            }
        }
        flush(self, &mut context, true);
    }
}

/// One line of a line-by-line comparison.
#[derive(Debug, PartialEq, Eq)]
enum LineOp<'a> {
    Same(&'a str),
    Gone(&'a str),
    New(&'a str),
}

/// The lines of `b` and `a` compared (longest common subsequence); very
/// long texts are shown removed and added whole rather than compared.
fn line_diff<'a>(b: &'a str, a: &'a str) -> Vec<LineOp<'a>> {
    let bl: Vec<&str> = b.trim_end_matches('\n').split('\n').collect();
    let al: Vec<&str> = a.trim_end_matches('\n').split('\n').collect();
    if bl.len().saturating_mul(al.len()) > 250_000 {
        let mut ops: Vec<LineOp> = bl.into_iter().map(LineOp::Gone).collect();
        ops.extend(al.into_iter().map(LineOp::New));
        return ops;
    }
    // lcs[i][j]: the common lines of bl[i..] and al[j..].
    let mut lcs = vec![vec![0usize; al.len() + 1]; bl.len() + 1];
    for i in (0..bl.len()).rev() {
        for j in (0..al.len()).rev() {
            lcs[i][j] = if bl[i] == al[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < bl.len() || j < al.len() {
        if i < bl.len() && j < al.len() && bl[i] == al[j] {
            ops.push(LineOp::Same(bl[i]));
            i += 1;
            j += 1;
        } else if i < bl.len() && (j == al.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(LineOp::Gone(bl[i]));
            i += 1;
        } else {
            ops.push(LineOp::New(al[j]));
            j += 1;
        }
    }
    ops
}

/// `tags` and `tags_all` hold ownership tags.
fn is_tags(name: &str) -> bool {
    name == "tags" || name == "tags_all"
}

/// Splits two lists into the items only `b` has, those only `a` has (in
/// their order, each matched at most once) and how many both have.
fn unmatched(b: &[Shown], a: &[Shown]) -> (Vec<Shown>, Vec<Shown>, usize) {
    let mut new: Vec<Option<&Shown>> = a.iter().map(Some).collect();
    let mut gone = Vec::new();
    let mut both = 0;
    for item in b {
        match new.iter_mut().find(|n| n.is_some_and(|n| n == item)) {
            Some(slot) => {
                *slot = None;
                both += 1;
            }
            None => gone.push(item.clone()),
        }
    }
    (gone, new.into_iter().flatten().cloned().collect(), both)
}

/// A line of a multi-line string as shown: cut into pieces that fit, each
/// piece after the first marked `… ` as the rest of the line above.
fn text_pieces(line: &str, width: usize) -> Vec<String> {
    wrap(line, width.saturating_sub(2))
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let p = p.trim_end();
            if i == 0 {
                p.to_string()
            } else {
                format!("… {p}")
            }
        })
        .collect()
}

/// Cuts a line into pieces of at most `width` characters, at spaces when
/// there are some.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    while rest.len() > width {
        let cut = rest[..width]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|&i| i > width / 2)
            .map_or(width, |i| i + 1);
        pieces.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    pieces.push(rest.into_iter().collect());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Shown {
        Shown::Str(v.into())
    }

    fn map(pairs: &[(&str, Shown)]) -> Shown {
        Shown::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn text(l: &Layout) -> Vec<String> {
        l.lines
            .iter()
            .map(|l| format!("{}{}", " ".repeat(4 * l.depth), l.text))
            .collect()
    }

    #[test]
    fn long_strings_are_wrapped_within_the_line_limit() {
        let long = "x".repeat(400);
        let mut l = Layout::default();
        l.value("description = ".into(), &s(&long), 3, Sign::Add, "");
        assert!(l.lines.len() > 3, "{:?}", text(&l));
        for line in &l.lines {
            assert!(indent_width(line.depth) + line.text.chars().count() <= MAX_LINE);
        }
        let joined: String = l.lines[1..l.lines.len() - 1]
            .iter()
            .map(|x| x.text.trim_end_matches(',').trim_matches('"'))
            .collect();
        assert_eq!(joined, long);
    }

    #[test]
    fn unchanged_ownership_tags_are_hidden_in_changes_but_changed_ones_shown() {
        let before = map(&[("Name", s("a")), ("stackd:stack", s("web"))]);
        let after = map(&[("Name", s("b")), ("stackd:stack", s("web"))]);
        let mut l = Layout::default();
        l.change("tags_all", 0, &before, &after, 1, "");
        let t = text(&l).join("\n");
        assert!(!t.contains("stackd:stack"), "{t}");
        assert!(l.hid_ownership_tags);
        let moved = map(&[("Name", s("b")), ("stackd:stack", s("other"))]);
        let mut l = Layout::default();
        l.change("tags_all", 0, &after, &moved, 1, "");
        let t = text(&l).join("\n");
        assert!(t.contains("\"stackd:stack\" = \"web\" -> \"other\""), "{t}");
    }
}
