//! Resource addresses as Terraform writes them: `aws_subnet.public["a"]`,
//! `data.aws_ami.al2023`, `module.net.aws_vpc.main`.

use std::fmt;
use std::str::FromStr;

use crate::schema::Mode;

/// Which instance of a resource block with `count` or `for_each`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InstanceKey {
    /// `count.index`
    Int(i64),
    /// `each.key`
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{s:?}]"),
        }
    }
}

/// One step of a module instance path: `module.svc["api"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    pub name: String,
    /// The call's instance key, when it has `count` or `for_each`.
    pub key: Option<InstanceKey>,
}

impl ModuleStep {
    pub fn new(name: impl Into<String>, key: Option<InstanceKey>) -> Self {
        ModuleStep {
            name: name.into(),
            key,
        }
    }
}

impl fmt::Display for ModuleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module.{}", self.name)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// A module instance path as Terraform writes it (`module.a.module.b["x"]`),
/// empty for the root.
pub fn module_path_string(path: &[ModuleStep]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A resource block's address in one module instance, without an
/// instance key of its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockAddress {
    /// Module instance path from the root: `module.net.` is
    /// `[ModuleStep { name: "net", key: None }]`.
    pub module: Vec<ModuleStep>,
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
}

impl BlockAddress {
    pub fn new(mode: Mode, type_name: impl Into<String>, name: impl Into<String>) -> Self {
        BlockAddress {
            module: Vec::new(),
            mode,
            type_name: type_name.into(),
            name: name.into(),
        }
    }
    /// The same block in a module instance.
    pub fn in_module(mut self, module: Vec<ModuleStep>) -> Self {
        self.module = module;
        self
    }
    /// The module path's names, without instance keys (the configuration
    /// the block is written in).
    pub fn module_names(&self) -> Vec<String> {
        self.module.iter().map(|m| m.name.clone()).collect()
    }
    pub fn instance(&self, key: Option<InstanceKey>) -> Address {
        Address {
            block: self.clone(),
            key,
        }
    }
}

impl fmt::Display for BlockAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.module {
            write!(f, "{m}.")?;
        }
        if self.mode == Mode::Data {
            write!(f, "data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)
    }
}

/// One resource instance's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub block: BlockAddress,
    pub key: Option<InstanceKey>,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.block)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

impl Address {
    /// The address as a tag value every AWS service accepts. ELBv2, ECS, S3
    /// and others allow only letters, digits, spaces and `+ - = . _ : / @`,
    /// so an instance key is written `/i:0` or `/s:KEY`, with any other
    /// character of the key (and `@` itself) escaped as `@HH` per UTF-8
    /// byte: `aws_subnet.public["us-east-1a"]` → `aws_subnet.public/s:us-east-1a`.
    /// Addresses without a key are written as they are. [`Address::from_str`]
    /// reads both forms.
    pub fn to_tag_value(&self) -> String {
        // Module instance keys (`module.svc["api"].…`) have no short form:
        // such an address is written whole with every other character
        // escaped as `@HH`.
        if self.block.module.iter().any(|m| m.key.is_some()) {
            let mut out = String::new();
            for b in self.to_string().bytes() {
                let c = b as char;
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    out.push(c);
                } else {
                    out.push_str(&format!("@{b:02X}"));
                }
            }
            return out;
        }
        let mut out = self.block.to_string();
        match &self.key {
            None => {}
            Some(InstanceKey::Int(i)) => out.push_str(&format!("/i:{i}")),
            Some(InstanceKey::Str(s)) => {
                out.push_str("/s:");
                for b in s.bytes() {
                    let c = b as char;
                    if c.is_ascii_alphanumeric() || "+-=._:/".contains(c) {
                        out.push(c);
                    } else {
                        out.push_str(&format!("@{b:02X}"));
                    }
                }
            }
        }
        out
    }

    fn from_tag_value(input: &str) -> Option<Address> {
        let Some((block, key)) = input.split_once('/') else {
            // The whole-address form of module instance keys.
            let text = String::from_utf8(unescape_at(input.as_bytes())?).ok()?;
            // Only module instance keys are written this way, and they
            // always have brackets.
            return if text.contains('[') {
                text.parse().ok()
            } else {
                None
            };
        };
        let key = if let Some(i) = key.strip_prefix("i:") {
            InstanceKey::Int(i.parse().ok()?)
        } else {
            let escaped = key.strip_prefix("s:")?.as_bytes();
            InstanceKey::Str(String::from_utf8(unescape_at(escaped)?).ok()?)
        };
        let mut addr: Address = block.parse().ok()?;
        if addr.key.is_some() {
            return None;
        }
        addr.key = Some(key);
        Some(addr)
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a resource address ({why}); addresses look like aws_vpc.main or aws_subnet.public[\"a\"]")]
pub struct AddressParseError {
    pub input: String,
    pub why: &'static str,
}

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |why| AddressParseError {
            input: input.to_string(),
            why,
        };
        // Names never contain '/' or '@', so either marks the tag-value form.
        if !input.contains('[') && (input.contains('/') || input.contains('@')) {
            return Address::from_tag_value(input)
                .ok_or_else(|| err("malformed instance key in tag form"));
        }
        let mut p = Parser { rest: input };
        let mut module = Vec::new();
        loop {
            let word = p.name().ok_or_else(|| err("expected TYPE.NAME"))?;
            if word != "module" {
                let (mode, type_name) = if word == "data" {
                    p.dot().ok_or_else(|| err("expected data.TYPE.NAME"))?;
                    (
                        Mode::Data,
                        p.name().ok_or_else(|| err("expected data.TYPE.NAME"))?,
                    )
                } else {
                    (Mode::Managed, word)
                };
                p.dot().ok_or_else(|| err("expected TYPE.NAME"))?;
                let name = p.name().ok_or_else(|| err("expected TYPE.NAME"))?;
                let key = p.key().map_err(err)?;
                if !p.rest.is_empty() {
                    return Err(err(if p.rest.starts_with('[') {
                        "unbalanced brackets"
                    } else {
                        "expected TYPE.NAME"
                    }));
                }
                return Ok(Address {
                    block: BlockAddress {
                        module,
                        mode,
                        type_name: type_name.to_string(),
                        name: name.to_string(),
                    },
                    key,
                });
            }
            p.dot().ok_or_else(|| err("expected module.NAME."))?;
            let name = p.name().ok_or_else(|| err("expected module.NAME."))?;
            let key = p.key().map_err(err)?;
            p.dot()
                .ok_or_else(|| err("expected TYPE.NAME after the module path"))?;
            module.push(ModuleStep::new(name, key));
        }
    }
}

/// Reads an address from left to right.
struct Parser<'a> {
    rest: &'a str,
}

impl<'a> Parser<'a> {
    /// A name: letters, digits, `_` and `-`.
    fn name(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(name)
    }

    fn dot(&mut self) -> Option<()> {
        self.rest = self.rest.strip_prefix('.')?;
        Some(())
    }

    /// An optional `[0]` or `["key"]`.
    fn key(&mut self) -> Result<Option<InstanceKey>, &'static str> {
        let Some(after) = self.rest.strip_prefix('[') else {
            return Ok(None);
        };
        if let Some(quoted) = after.strip_prefix('"') {
            // The closing quote is the first one no backslash escapes.
            let bytes = quoted.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            let body = quoted.get(..i).ok_or("unbalanced brackets")?;
            let rest = quoted
                .get(i..)
                .and_then(|r| r.strip_prefix("\"]"))
                .ok_or("unbalanced brackets")?;
            let key = unescape_key(body).ok_or("malformed escape in the key")?;
            self.rest = rest;
            return Ok(Some(InstanceKey::Str(key)));
        }
        let end = after.find(']').ok_or("unbalanced brackets")?;
        let n = after[..end]
            .parse()
            .map_err(|_| "index is neither a number nor a quoted string")?;
        self.rest = &after[end + 1..];
        Ok(Some(InstanceKey::Int(n)))
    }
}

/// Undoes `@HH` escapes.
fn unescape_at(escaped: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(escaped.len());
    let mut i = 0;
    while i < escaped.len() {
        if escaped[i] == b'@' {
            let hex = std::str::from_utf8(escaped.get(i + 1..i + 3)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(escaped[i]);
            i += 1;
        }
    }
    Some(bytes)
}

/// The key as [`InstanceKey`]'s `Display` escaped it (Rust's `{:?}`:
/// `\\`, `\"`, `\n`, `\u{1f600}`...), so parsing an address written by
/// `Display` gives back the same key. HCL's `\uXXXX` is read too.
fn unescape_key(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            'u' => {
                let rest = chars.as_str();
                let (hex, len) = match rest.strip_prefix('{') {
                    Some(braced) => {
                        let end = braced.find('}')?;
                        (&braced[..end], end + 2)
                    }
                    None => (rest.get(..4)?, 4),
                };
                out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                for _ in 0..len {
                    chars.next();
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_quotes_backslashes_and_control_characters_round_trip() {
        for key in [
            "a\\b",
            "say \"hi\"",
            "line\nbreak",
            "nul\0",
            "tab\t",
            "é😀",
            "\u{301}",
            "]\"[",
        ] {
            let a = Address {
                block: BlockAddress::new(Mode::Managed, "aws_vpc", "x"),
                key: Some(InstanceKey::Str(key.to_string())),
            };
            let text = a.to_string();
            assert_eq!(text.parse::<Address>().as_ref(), Ok(&a), "{text}");
        }
        assert_eq!(
            "x.y[\"\\u00e9\"]".parse::<Address>().map(|a| a.key),
            Ok(Some(InstanceKey::Str("é".into())))
        );
        assert!("x.y[\"a\\q\"]".parse::<Address>().is_err());
        assert!("x.y[\"\\u{110000}\"]".parse::<Address>().is_err());
    }

    #[test]
    fn addresses_round_trip_through_display() {
        for s in [
            "aws_vpc.main",
            "aws_subnet.public[\"a\"]",
            "aws_subnet.private[1]",
            "data.aws_ami.al2023",
            "module.net.aws_vpc.main",
            "module.svc[\"api\"].aws_ecs_service.this",
            "module.a[0].module.b[\"x.y]\"].data.aws_ami.z[\"k\"]",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn tag_values_use_only_characters_every_service_accepts_and_round_trip() {
        for s in [
            "aws_vpc.main",
            "aws_subnet.public[\"us-east-1a\"]",
            "aws_subnet.private[12]",
            "aws_lb_listener_rule.r[\"/api/* (v2) @home\"]",
            "aws_s3_bucket.b[\"ünïcode\"]",
            "module.net.aws_subnet.x[\"0\"]",
            "module.svc[\"api/v2 @x\"].aws_ecs_service.this[\"é\"]",
            "module.n[3].aws_vpc.main",
        ] {
            let a: Address = s.parse().unwrap();
            let tag = a.to_tag_value();
            assert!(
                tag.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(c)),
                "{tag}"
            );
            assert_eq!(tag.parse::<Address>().unwrap(), a, "{tag}");
        }
        assert_eq!(
            "aws_subnet.public[\"us-east-1a\"]"
                .parse::<Address>()
                .unwrap()
                .to_tag_value(),
            "aws_subnet.public/s:us-east-1a"
        );
        assert_ne!(
            "x.y[0]".parse::<Address>().unwrap().to_tag_value(),
            "x.y[\"0\"]".parse::<Address>().unwrap().to_tag_value()
        );
        assert!("aws_vpc.main/s:bad@Z".parse::<Address>().is_err());
    }

    #[test]
    fn malformed_address_is_an_error() {
        assert!("aws_vpc".parse::<Address>().is_err());
        assert!("aws_vpc.main[x".parse::<Address>().is_err());
    }
}
