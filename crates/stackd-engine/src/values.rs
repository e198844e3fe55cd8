//! The values of resource instances as planning and apply learn them,
//! served to the evaluator as whole-block values.

use std::collections::{BTreeMap, HashMap};

use stackd_spec::eval::Resolver;
use stackd_spec::{Address, BlockAddress, InstanceKey, Mode, Value};

/// How a block expands into instances.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    /// No count or for_each.
    Single,
    /// `count = n`.
    Count(i64),
    /// `for_each` with these keys.
    ForEach(Vec<String>),
    /// Not known yet (the expansion failed).
    Unknown,
}

impl Expansion {
    /// The instance keys this expansion yields.
    pub fn keys(&self) -> Vec<Option<InstanceKey>> {
        match self {
            Expansion::Single => vec![None],
            Expansion::Count(n) => (0..*n).map(|i| Some(InstanceKey::Int(i))).collect(),
            Expansion::ForEach(keys) => keys
                .iter()
                .map(|k| Some(InstanceKey::Str(k.clone())))
                .collect(),
            Expansion::Unknown => Vec::new(),
        }
    }
}

/// Instance values by address, and block expansions.
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub expansions: HashMap<BlockAddress, Expansion>,
    pub instances: HashMap<Address, Value>,
    /// Bumped by every change made through [`Values::set`] and
    /// [`Values::expand`]: what was computed from these values (a module's
    /// inputs and outputs) is good while it stays the same.
    pub generation: u64,
}

impl Values {
    pub fn set(&mut self, addr: Address, v: Value) {
        self.instances.insert(addr, v);
        self.generation += 1;
    }

    /// Forgets an instance (deleted).
    pub fn remove(&mut self, addr: &Address) {
        self.instances.remove(addr);
        self.generation += 1;
    }

    /// Records how a block expands.
    pub fn expand(&mut self, block: BlockAddress, expansion: Expansion) {
        self.expansions.insert(block, expansion);
        self.generation += 1;
    }

    /// One instance's value, as `block[key]` sees it, when the key names an
    /// instance the expansion has (a whole number below `count`, a
    /// `for_each` key); `None` for anything else, left to indexing the
    /// whole [`Values::block_value`], which knows the errors.
    pub fn instance_value(&self, block: &BlockAddress, key: &Value) -> Option<Value> {
        let address = self.instance_address(block, key)?;
        Some(
            self.instances
                .get(&address)
                .cloned()
                .unwrap_or(Value::Unknown),
        )
    }

    /// The address of the instance `block[key]` reads, when the key names
    /// one the expansion has (see [`Values::instance_value`]).
    pub fn instance_address(&self, block: &BlockAddress, key: &Value) -> Option<Address> {
        let key = match (self.expansions.get(block)?, key) {
            (Expansion::Count(n), Value::Number(_)) => {
                let i = key.as_i64()?;
                (0..*n).contains(&i).then_some(InstanceKey::Int(i))?
            }
            (Expansion::ForEach(keys), Value::String(k)) => {
                keys.binary_search(k).ok()?;
                InstanceKey::Str(k.clone())
            }
            _ => return None,
        };
        Some(block.instance(Some(key)))
    }

    /// The value of a whole block, as an expression sees `aws_subnet.public`.
    pub fn block_value(&self, block: &BlockAddress) -> Option<Value> {
        let expansion = self.expansions.get(block)?;
        let get = |key: Option<InstanceKey>| {
            self.instances
                .get(&block.instance(key))
                .cloned()
                .unwrap_or(Value::Unknown)
        };
        Some(match expansion {
            Expansion::Single => get(None),
            Expansion::Count(n) => {
                Value::List((0..*n).map(|i| get(Some(InstanceKey::Int(i)))).collect())
            }
            Expansion::ForEach(keys) => Value::Map(
                keys.iter()
                    .map(|k| (k.clone(), get(Some(InstanceKey::Str(k.clone())))))
                    .collect::<BTreeMap<_, _>>(),
            ),
            Expansion::Unknown => Value::Unknown,
        })
    }
}

impl Resolver for Values {
    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value> {
        let block = BlockAddress::new(mode, type_name, name);
        Some(self.block_value(&block).unwrap_or(Value::Unknown))
    }

    fn resource_instance(
        &self,
        mode: Mode,
        type_name: &str,
        name: &str,
        key: &Value,
    ) -> Option<Value> {
        self.instance_value(&BlockAddress::new(mode, type_name, name), key)
    }
}
