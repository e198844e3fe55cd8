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

/// A resource block's address, without an instance key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockAddress {
    /// Module path from the root: `["net"]` for `module.net.`.
    pub module: Vec<String>,
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
            write!(f, "module.{m}.")?;
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
        let (block, key) = input.split_once('/')?;
        let key = if let Some(i) = key.strip_prefix("i:") {
            InstanceKey::Int(i.parse().ok()?)
        } else {
            let escaped = key.strip_prefix("s:")?.as_bytes();
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
            InstanceKey::Str(String::from_utf8(bytes).ok()?)
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
        // Names never contain '/', so a '/' marks the tag-value form.
        if input.contains('/') && !input.contains('[') {
            return Address::from_tag_value(input)
                .ok_or_else(|| err("malformed instance key in tag form"));
        }
        let (path, key) = match input.find('[') {
            Some(i) => {
                let raw = input[i..]
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or_else(|| err("unbalanced brackets"))?;
                let key = if let Some(s) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    InstanceKey::Str(
                        unescape_key(s).ok_or_else(|| err("malformed escape in the key"))?,
                    )
                } else {
                    InstanceKey::Int(
                        raw.parse()
                            .map_err(|_| err("index is neither a number nor a quoted string"))?,
                    )
                };
                (&input[..i], Some(key))
            }
            None => (input, None),
        };
        let mut parts: Vec<&str> = path.split('.').collect();
        let mut module = Vec::new();
        while parts.len() > 2 && parts[0] == "module" {
            module.push(parts[1].to_string());
            parts.drain(..2);
        }
        let mode = if parts.first() == Some(&"data") {
            parts.remove(0);
            Mode::Data
        } else {
            Mode::Managed
        };
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(err("expected TYPE.NAME"));
        }
        Ok(Address {
            block: BlockAddress {
                module,
                mode,
                type_name: parts[0].to_string(),
                name: parts[1].to_string(),
            },
            key,
        })
    }
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
