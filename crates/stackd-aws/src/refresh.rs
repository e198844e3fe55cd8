//! The refresh pattern of taggable types: one paginated Describe chain
//! filtered on the stack's ownership tag, then, only for known IDs that
//! chain did not return (someone removed the tag), one more Describe by an
//! ID *filter*. A filter, not `VpcIds=`-style parameters: those fail the
//! whole call when one ID no longer exists.

use std::collections::HashSet;
use std::future::Future;

use aws_sdk_ec2::types::{Filter, Tag};
use stackd_engine::provider::{ChangeRequest, KnownResource, Owner, ProviderError, RefreshRequest};
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

/// The filter selecting objects tagged as `owner`'s.
pub(crate) fn stack_filter(owner: &Owner) -> Filter {
    let (key, value) = owner.filter_tag();
    filter(&format!("tag:{key}"), [value])
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

/// SDK types that carry tags.
pub(crate) trait Tagged {
    fn tag_list(&self) -> &[Tag];
}

macro_rules! tagged {
    ($($t:ty),*) => {
        $(impl Tagged for $t {
            fn tag_list(&self) -> &[Tag] {
                self.tags()
            }
        })*
    };
}

tagged!(
    aws_sdk_ec2::types::Vpc,
    aws_sdk_ec2::types::Subnet,
    aws_sdk_ec2::types::InternetGateway,
    aws_sdk_ec2::types::Address,
    aws_sdk_ec2::types::NatGateway,
    aws_sdk_ec2::types::SecurityGroup,
    aws_sdk_ec2::types::RouteTable,
    aws_sdk_ec2::types::VpcEndpoint,
    aws_sdk_ec2::types::NetworkAcl,
    aws_sdk_ec2::types::FlowLog
);

/// True when an object's tags say it is `owner`'s.
pub(crate) fn tagged_with_stack(tags: &[Tag], owner: &Owner) -> bool {
    crate::tags::owned_by(tags, owner)
}

/// Every object the stack owns: tagged with it, or known by ID.
/// `describe` runs one paginated Describe chain with the given filters.
/// Ownership is checked on the answer too: a server that ignores a filter
/// must not make another stack's objects look like ours.
pub(crate) async fn find_owned<T: Tagged, F, Fut>(
    req: &RefreshRequest,
    id_filter: &str,
    id_of: fn(&T) -> Option<&str>,
    describe: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let mut found = describe(vec![stack_filter(&req.owner)]).await?;
    let seen: HashSet<String> = found.iter().filter_map(id_of).map(str::to_string).collect();
    let missing = missing_ids(&req.known, &seen);
    for chunk in missing.chunks(MAX_FILTER_VALUES) {
        found.extend(describe(vec![filter(id_filter, chunk.iter().cloned())]).await?);
    }
    let known: HashSet<&str> = req.known.iter().map(|k| k.id.as_str()).collect();
    found.retain(|obj| {
        id_of(obj).is_some_and(|id| known.contains(id))
            || (tagged_with_stack(obj.tag_list(), &req.owner)
                && tagged_for_type(obj.tag_list(), &req.type_name))
    });
    Ok(found)
}

/// False when the object's address tag names another resource type: the
/// VPC's default security group and route table, adopted (and tagged) by
/// `aws_default_security_group` and `aws_default_route_table`, are also
/// security groups and route tables, and must not look like leftovers of
/// `aws_security_group` or `aws_route_table` (which would delete them).
pub(crate) fn tagged_for_type(tags: &[Tag], type_name: &str) -> bool {
    tagged_address(tags).is_none_or(|a| a.block.type_name == type_name)
}

/// The object a create made, found by the create token it was tagged with
/// in the create call (`find_created` of an EC2 type). The token and the
/// owner are checked on the answer too. `None` when there is none, or when
/// the request carries no token.
pub(crate) async fn find_by_token<T: Tagged, F, Fut>(
    req: &ChangeRequest,
    describe: F,
) -> Result<Option<T>, ProviderError>
where
    F: Fn(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    let token = req.idempotency_token.as_str();
    if token.is_empty() {
        return Ok(None);
    }
    let key = format!("tag:{}", crate::tags::CREATE_TOKEN_TAG);
    let found = describe(vec![filter(&key, [token])]).await?;
    Ok(found.into_iter().find(|o| {
        crate::tags::tag(o.tag_list(), crate::tags::CREATE_TOKEN_TAG) == Some(token)
            && tagged_with_stack(o.tag_list(), &req.owner)
    }))
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

    #[tokio::test]
    async fn objects_of_other_stacks_are_dropped_even_if_the_server_returns_them() {
        use aws_sdk_ec2::types::Vpc;
        use stackd_engine::provider::{STACK_ID_TAG, STACK_TAG};
        let vpc = |id: &str, stack_id: &str| {
            Vpc::builder()
                .vpc_id(id)
                .tags(Tag::builder().key(STACK_TAG).value("mine").build())
                .tags(Tag::builder().key(STACK_ID_TAG).value(stack_id).build())
                .build()
        };
        let req = RefreshRequest {
            type_name: "aws_vpc".into(),
            owner: Owner::new("mine", "mine"),
            known: vec![known("aws_vpc.untagged", "vpc-known")],
        };
        // A server ignoring the tag filter answers with everything.
        let everything = vec![
            vpc("vpc-1", "mine"),
            vpc("vpc-2", "theirs"),
            vpc("vpc-known", ""),
        ];
        let found = find_owned(&req, "vpc-id", Vpc::vpc_id, |_| {
            let all = everything.clone();
            async move { Ok(all) }
        })
        .await
        .unwrap();
        let ids: Vec<_> = found.iter().filter_map(Vpc::vpc_id).collect();
        assert_eq!(ids, ["vpc-1", "vpc-known"]);
    }

    #[test]
    fn objects_tagged_for_another_type_are_left_to_it() {
        let tags = [Tag::builder()
            .key(ADDRESS_TAG)
            .value("aws_default_security_group.main")
            .build()];
        assert!(!tagged_for_type(&tags, "aws_security_group"));
        assert!(tagged_for_type(&tags, "aws_default_security_group"));
        assert!(tagged_for_type(&[], "aws_security_group"));
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
        let f = stack_filter(&Owner::new("prod", "id-1"));
        assert_eq!(f.name(), Some("tag:stackd:stack-id"));
        assert_eq!(f.values(), &["id-1".to_string()]);
        let lost = Owner {
            by_name: true,
            ..Owner::new("prod", "id-1")
        };
        let f = stack_filter(&lost);
        assert_eq!(f.name(), Some("tag:stackd:stack"));
        assert_eq!(f.values(), &["prod".to_string()])
    }
}
