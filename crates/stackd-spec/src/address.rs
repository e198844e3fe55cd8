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
        let (path, key) = match input.find('[') {
            Some(i) => {
                let raw = input[i..]
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .ok_or_else(|| err("unbalanced brackets"))?;
                let key = if let Some(s) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    InstanceKey::Str(s.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn malformed_address_is_an_error() {
        assert!("aws_vpc".parse::<Address>().is_err());
        assert!("aws_vpc.main[x".parse::<Address>().is_err());
    }
}
