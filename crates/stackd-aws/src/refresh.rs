//! The refresh pattern of taggable types: one paginated Describe chain
//! filtered on the stack's ownership tag, then, only for known IDs that
//! chain did not return (someone removed the tag), one more Describe by an
//! ID *filter*. A filter, not `VpcIds=`-style parameters: those fail the
//! whole call when one ID no longer exists.

use std::collections::HashSet;
use std::future::Future;

use aws_sdk_ec2::types::{Filter, Tag};
use stackd_engine::provider::{KnownResource, ProviderError, RefreshRequest, STACK_TAG};
use stackd_spec::{Address, Value};

use crate::tags::tagged_address;

/// EC2 takes at most 200 values in one filter.
pub(crate) const MAX_FILTER_VALUES: usize = 200;

/// An EC2 Describe filter.
pub(crate) fn filter<S: Into<String>>(name: &str, values: impl IntoIterator<Item = S>) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.into_iter().map(Into::into).collect()))
        .build()
}

/// The filter selecting objects tagged as owned by `stack`.
pub(crate) fn stack_filter(stack: &str) -> Filter {
    filter(&format!("tag:{STACK_TAG}"), [stack])
}

/// Known IDs absent from `seen`, de-duplicated, in state order.
pub(crate) fn missing_ids(known: &[KnownResource], seen: &HashSet<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in known {
        if !k.id.is_empty() && !seen.contains(&k.id) && !out.contains(&k.id) {
            out.push(k.id.clone());
        }
    }
    out
}

/// Every object the stack owns: tagged with it, or known by ID.
/// `describe` runs one paginated Describe chain with the given filters.
pub(crate) async fn find_owned<T, F, Fut>(
    req: &RefreshRequest,
    id_filter: &str,
    id_of: fn(&T) -> Option<&str>,
    describe: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let mut found = describe(vec![stack_filter(&req.stack)]).await?;
    let seen: HashSet<String> = found.iter().filter_map(id_of).map(str::to_string).collect();
    let missing = missing_ids(&req.known, &seen);
    for chunk in missing.chunks(MAX_FILTER_VALUES) {
        found.extend(describe(vec![filter(id_filter, chunk.iter().cloned())]).await?);
    }
    Ok(found)
}

/// The address a live object belongs to: the known instance with its ID
/// (state is authoritative, e.g. after a move), else its ownership tag.
pub(crate) fn address_for(id: &str, tags: &[Tag], known: &[KnownResource]) -> Option<Address> {
    known
        .iter()
        .find(|k| k.id == id)
        .map(|k| k.address.clone())
        .or_else(|| tagged_address(tags))
}

/// The recorded attributes of a known instance.
pub(crate) fn known_attrs<'a>(id: &str, known: &'a [KnownResource]) -> Option<&'a Value> {
    known.iter().find(|k| k.id == id).map(|k| &k.attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::provider::ADDRESS_TAG;

    fn known(addr: &str, id: &str) -> KnownResource {
        KnownResource {
            address: addr.parse().unwrap(),
            id: id.to_string(),
            attrs: Value::Null,
        }
    }

    #[test]
    fn only_unseen_known_ids_are_looked_up_again() {
        let seen: HashSet<String> = ["vpc-1".to_string()].into();
        let ids = missing_ids(
            &[
                known("aws_vpc.a", "vpc-1"),
                known("aws_vpc.b", "vpc-2"),
                known("aws_vpc.c", "vpc-2"),
            ],
            &seen,
        );
        assert_eq!(ids, vec!["vpc-2".to_string()]);
    }

    #[test]
    fn the_known_address_wins_over_the_tag() {
        let tags = [Tag::builder().key(ADDRESS_TAG).value("aws_vpc.old").build()];
        let k = [known("aws_vpc.new", "vpc-1")];
        assert_eq!(
            address_for("vpc-1", &tags, &k).unwrap().to_string(),
            "aws_vpc.new"
        );
        assert_eq!(
            address_for("vpc-2", &tags, &k).unwrap().to_string(),
            "aws_vpc.old"
        );
        assert_eq!(address_for("vpc-2", &[], &k), None);
    }

    #[test]
    fn the_stack_filter_names_the_ownership_tag() {
        let f = stack_filter("prod");
        assert_eq!(f.name(), Some("tag:stackd:stack"));
        assert_eq!(f.values(), &["prod".to_string()]);
    }
}
