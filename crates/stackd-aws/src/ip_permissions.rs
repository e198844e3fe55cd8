//! Security group rules between their shapes: the `ingress`/`egress` blocks
//! of `aws_security_group` and the arguments of `aws_security_group_rule`
//! (Terraform's shapes) on one side, EC2's `IpPermission`s on the other.
//!
//! Both sides are broken down into [`Grant`]s, the unit EC2 stores: one
//! protocol and port range from one source. Comparing grant sets is what
//! makes reads and updates independent of how rules are grouped.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use stackd_spec::Value;

use crate::args::{
    bool_or, list_or_null, num, opt_int, opt_str, s, set_or_null, sort_blocks, str_list,
};

/// Where traffic a grant allows comes from (ingress) or goes to (egress).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Source {
    Cidr(String),
    Ipv6(String),
    PrefixList(String),
    /// Another security group: `sg-…`, or `account/sg-…` across accounts.
    Group(String),
    /// The rule's own security group.
    SelfRef,
}

/// One protocol and port range from one source, with its description.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Grant {
    /// Normalised by [`protocol_for_value`].
    pub protocol: String,
    pub from_port: i64,
    pub to_port: i64,
    pub source: Source,
    /// Empty when there is none.
    pub description: String,
}

impl Source {
    /// The source for comparisons: a group by its ID alone. Group IDs are
    /// unique across accounts, and emulators (LocalStack) report the
    /// account of same-account groups where AWS leaves it out.
    fn identity(&self) -> Source {
        match self {
            Source::Group(id) => Source::Group(id.rsplit('/').next().unwrap_or(id).to_string()),
            other => other.clone(),
        }
    }
}

impl Grant {
    /// The grant without its description: what EC2 matches rules on.
    pub fn key(&self) -> (&str, i64, i64, Source) {
        (
            &self.protocol,
            self.from_port,
            self.to_port,
            self.source.identity(),
        )
    }

    /// The grant as compared between spec and cloud: its key and its
    /// description.
    fn identity(&self) -> Grant {
        Grant {
            source: self.source.identity(),
            ..self.clone()
        }
    }
}

/// The protocol as EC2 stores it and the Terraform provider normalises it:
/// `all` and `-1` are `-1`; `6`, `17`, `1`, `58` are `tcp`, `udp`, `icmp`,
/// `icmpv6`; names are lower-cased; other numbers stay numbers.
pub(crate) fn protocol_for_value(v: &str) -> String {
    let p = v.trim().to_ascii_lowercase();
    match p.as_str() {
        "-1" | "all" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        _ => p,
    }
}

/// EC2 keeps no ports for "all protocols"; both sides count them as 0.
fn ports(protocol: &str, from: Option<i64>, to: Option<i64>) -> (i64, i64) {
    if protocol == "-1" {
        (0, 0)
    } else {
        (from.unwrap_or(0), to.unwrap_or(0))
    }
}

/// A group reference as written in the spec: own ID means self.
fn group_source(id: &str, own_id: &str) -> Source {
    if id == own_id {
        Source::SelfRef
    } else {
        Source::Group(id.to_string())
    }
}

/// The grants of an `ingress`/`egress` block or of `aws_security_group_rule`
/// arguments (`security_groups` and `source_security_group_id` both name
/// groups).
pub(crate) fn spec_grants(rule: &Value, own_id: &str) -> Vec<Grant> {
    let protocol = protocol_for_value(opt_str(rule, "protocol").unwrap_or("-1"));
    let (from_port, to_port) = ports(
        &protocol,
        opt_int(rule, "from_port"),
        opt_int(rule, "to_port"),
    );
    let description = opt_str(rule, "description").unwrap_or_default().to_string();
    let mut sources: Vec<Source> = Vec::new();
    sources.extend(str_list(rule, "cidr_blocks").into_iter().map(Source::Cidr));
    sources.extend(
        str_list(rule, "ipv6_cidr_blocks")
            .into_iter()
            .map(Source::Ipv6),
    );
    sources.extend(
        str_list(rule, "prefix_list_ids")
            .into_iter()
            .map(Source::PrefixList),
    );
    sources.extend(
        str_list(rule, "security_groups")
            .iter()
            .map(|g| group_source(g, own_id)),
    );
    if let Some(g) = opt_str(rule, "source_security_group_id") {
        sources.push(group_source(g, own_id));
    }
    if bool_or(rule, "self", false) {
        sources.push(Source::SelfRef);
    }
    let mut seen = HashSet::new();
    sources
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .map(|source| Grant {
            protocol: protocol.clone(),
            from_port,
            to_port,
            source,
            description: description.clone(),
        })
        .collect()
}

/// A group pair's source: own group is self; another account's group is
/// `account/sg-…`, as the Terraform provider writes it.
fn pair_source(pair: &UserIdGroupPair, own_id: &str, owner_id: Option<&str>) -> Option<Source> {
    let id = pair.group_id()?;
    if id == own_id {
        return Some(Source::SelfRef);
    }
    match pair.user_id() {
        Some(user) if !user.is_empty() && Some(user) != owner_id => {
            Some(Source::Group(format!("{user}/{id}")))
        }
        _ => Some(Source::Group(id.to_string())),
    }
}

/// The grants of one live `IpPermission` of group `own_id`.
pub(crate) fn permission_grants(
    perm: &IpPermission,
    own_id: &str,
    owner_id: Option<&str>,
) -> Vec<Grant> {
    let protocol = protocol_for_value(perm.ip_protocol().unwrap_or("-1"));
    let (from_port, to_port) = ports(
        &protocol,
        perm.from_port().map(i64::from),
        perm.to_port().map(i64::from),
    );
    let grant = |source: Source, description: Option<&str>| Grant {
        protocol: protocol.clone(),
        from_port,
        to_port,
        source,
        description: description.unwrap_or_default().to_string(),
    };
    let mut out = Vec::new();
    for r in perm.ip_ranges() {
        if let Some(c) = r.cidr_ip() {
            out.push(grant(Source::Cidr(c.into()), r.description()));
        }
    }
    for r in perm.ipv6_ranges() {
        if let Some(c) = r.cidr_ipv6() {
            out.push(grant(Source::Ipv6(c.into()), r.description()));
        }
    }
    for p in perm.prefix_list_ids() {
        if let Some(id) = p.prefix_list_id() {
            out.push(grant(Source::PrefixList(id.into()), p.description()));
        }
    }
    for pair in perm.user_id_group_pairs() {
        if let Some(source) = pair_source(pair, own_id, owner_id) {
            out.push(grant(source, pair.description()));
        }
    }
    out
}

/// Groups grants into `ingress`/`egress` blocks the way the Terraform
/// provider does: one block per protocol, ports and description.
pub(crate) fn grants_to_blocks(grants: &[Grant]) -> Vec<Value> {
    #[derive(Default)]
    struct Acc {
        cidrs: Vec<String>,
        ipv6: Vec<String>,
        prefix_lists: Vec<String>,
        groups: Vec<String>,
        self_ref: bool,
    }
    let mut by_rule: BTreeMap<(String, i64, i64, String), Acc> = BTreeMap::new();
    for g in grants {
        let acc = by_rule
            .entry((
                g.protocol.clone(),
                g.from_port,
                g.to_port,
                g.description.clone(),
            ))
            .or_default();
        match &g.source {
            Source::Cidr(c) => acc.cidrs.push(c.clone()),
            Source::Ipv6(c) => acc.ipv6.push(c.clone()),
            Source::PrefixList(p) => acc.prefix_lists.push(p.clone()),
            Source::Group(id) => acc.groups.push(id.clone()),
            Source::SelfRef => acc.self_ref = true,
        }
    }
    by_rule
        .into_iter()
        .map(|((protocol, from, to, description), acc)| {
            Value::map([
                ("cidr_blocks", list_or_null(acc.cidrs)),
                ("ipv6_cidr_blocks", list_or_null(acc.ipv6)),
                ("prefix_list_ids", list_or_null(acc.prefix_lists)),
                ("security_groups", set_or_null(acc.groups)),
                ("self", Value::Bool(acc.self_ref)),
                ("description", s(Some(&description))),
                ("protocol", Value::String(protocol)),
                ("from_port", num(from)),
                ("to_port", num(to)),
            ])
        })
        .collect()
}

/// The live rules of a group as `ingress`/`egress` blocks.
///
/// A block recorded earlier (in state, or just applied) whose grants are all
/// live is reported exactly as recorded, so a rule written with `"all"` or
/// several CIDRs compares equal to the spec that made it. Live grants no
/// such block accounts for are grouped as the Terraform provider groups them.
pub(crate) fn read_rules(recorded: &[Value], live: &[Grant], own_id: &str) -> Vec<Value> {
    let all: HashSet<Grant> = live.iter().map(Grant::identity).collect();
    let mut accounted: HashSet<Grant> = HashSet::new();
    let mut out = Vec::new();
    for block in recorded {
        let grants: Vec<Grant> = spec_grants(block, own_id)
            .iter()
            .map(Grant::identity)
            .collect();
        if !grants.is_empty() && grants.iter().all(|g| all.contains(g)) {
            accounted.extend(grants);
            out.push(block.clone());
        }
    }
    let rest: Vec<Grant> = live
        .iter()
        .filter(|g| !accounted.contains(&g.identity()))
        .cloned()
        .collect();
    out.extend(grants_to_blocks(&rest));
    sort_blocks(out)
}

/// The grants to revoke and to authorize to go from `prior` to `desired`
/// blocks. A changed description is a revoke and an authorize.
pub(crate) fn rule_changes(
    prior: &[Value],
    desired: &[Value],
    own_id: &str,
) -> (Vec<Grant>, Vec<Grant>) {
    let had: Vec<Grant> = prior.iter().flat_map(|b| spec_grants(b, own_id)).collect();
    let want: Vec<Grant> = desired
        .iter()
        .flat_map(|b| spec_grants(b, own_id))
        .collect();
    let had_ids: BTreeSet<Grant> = had.iter().map(Grant::identity).collect();
    let want_ids: BTreeSet<Grant> = want.iter().map(Grant::identity).collect();
    let mut revoke: Vec<Grant> = had
        .into_iter()
        .filter(|g| !want_ids.contains(&g.identity()))
        .collect();
    let mut authorize: Vec<Grant> = want
        .into_iter()
        .filter(|g| !had_ids.contains(&g.identity()))
        .collect();
    revoke.sort();
    revoke.dedup();
    authorize.sort();
    authorize.dedup();
    (revoke, authorize)
}

/// Splits the grants of [`rule_changes`] that differ only in their
/// description: those are updated in place (the authorize side, with its new
/// description), not revoked and authorized again, which would leave a
/// moment without the rule. Returns `(redescribe, revoke, authorize)`.
pub(crate) fn description_changes(
    revoke: Vec<Grant>,
    authorize: Vec<Grant>,
) -> (Vec<Grant>, Vec<Grant>, Vec<Grant>) {
    let key = |g: &Grant| {
        let g = g.identity();
        (g.protocol, g.from_port, g.to_port, g.source)
    };
    let revoked: BTreeSet<_> = revoke.iter().map(key).collect();
    let (redescribe, authorize): (Vec<Grant>, Vec<Grant>) = authorize
        .into_iter()
        .partition(|g| revoked.contains(&key(g)));
    let redescribed: BTreeSet<_> = redescribe.iter().map(key).collect();
    let revoke = revoke
        .into_iter()
        .filter(|g| !redescribed.contains(&key(g)))
        .collect();
    (redescribe, revoke, authorize)
}

/// Grants as `IpPermission`s for Authorize/Revoke calls, one per protocol
/// and port range. Self references name `own_id`.
pub(crate) fn to_permissions(grants: &[Grant], own_id: &str) -> Vec<IpPermission> {
    let mut by_ports: BTreeMap<(String, i64, i64), Vec<&Grant>> = BTreeMap::new();
    for g in grants {
        by_ports
            .entry((g.protocol.clone(), g.from_port, g.to_port))
            .or_default()
            .push(g);
    }
    by_ports
        .into_iter()
        .map(|((protocol, from, to), grants)| {
            let mut perm = IpPermission::builder().ip_protocol(&protocol);
            if protocol != "-1" {
                perm = perm.from_port(from as i32).to_port(to as i32);
            }
            for g in grants {
                let description = Some(g.description.clone()).filter(|d| !d.is_empty());
                perm = match &g.source {
                    Source::Cidr(c) => perm.ip_ranges(
                        IpRange::builder()
                            .cidr_ip(c)
                            .set_description(description)
                            .build(),
                    ),
                    Source::Ipv6(c) => perm.ipv6_ranges(
                        Ipv6Range::builder()
                            .cidr_ipv6(c)
                            .set_description(description)
                            .build(),
                    ),
                    Source::PrefixList(p) => perm.prefix_list_ids(
                        PrefixListId::builder()
                            .prefix_list_id(p)
                            .set_description(description)
                            .build(),
                    ),
                    Source::Group(id) => {
                        let pair = match id.split_once('/') {
                            Some((user, group)) => {
                                UserIdGroupPair::builder().user_id(user).group_id(group)
                            }
                            None => UserIdGroupPair::builder().group_id(id),
                        };
                        perm.user_id_group_pairs(pair.set_description(description).build())
                    }
                    Source::SelfRef => perm.user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id(own_id)
                            .set_description(description)
                            .build(),
                    ),
                };
            }
            perm.build()
        })
        .collect()
}

/// CRC-32 (IEEE), as Go's `hash/crc32.ChecksumIEEE`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The ID the Terraform provider gives an `aws_security_group_rule`
/// (`SecurityGroupRuleCreateID`): `sgrule-` and a CRC-32 of the group,
/// ports, protocol, type and sorted sources. Reproduced exactly so state
/// carried over from Terraform keeps its IDs.
pub(crate) fn terraform_rule_id(group_id: &str, rule_type: &str, grants: &[Grant]) -> String {
    let Some(first) = grants.first() else {
        return format!("sgrule-{}", crc32(group_id.as_bytes()));
    };
    let mut buf = format!("{group_id}-");
    if first.protocol != "-1" {
        if first.from_port > 0 {
            buf.push_str(&format!("{}-", first.from_port));
        }
        if first.to_port > 0 {
            buf.push_str(&format!("{}-", first.to_port));
        }
    }
    buf.push_str(&format!("{}-{rule_type}-", first.protocol));
    let mut cidrs = Vec::new();
    let mut ipv6 = Vec::new();
    let mut prefix_lists = Vec::new();
    let mut groups = Vec::new();
    for g in grants {
        match &g.source {
            Source::Cidr(c) => cidrs.push(c.as_str()),
            Source::Ipv6(c) => ipv6.push(c.as_str()),
            Source::PrefixList(p) => prefix_lists.push(p.as_str()),
            Source::Group(id) => groups.push(id.rsplit('/').next().unwrap_or(id)),
            Source::SelfRef => groups.push(group_id),
        }
    }
    for list in [&mut cidrs, &mut ipv6, &mut prefix_lists] {
        list.sort_unstable();
        for v in list.iter() {
            buf.push_str(&format!("{v}-"));
        }
    }
    groups.sort_unstable();
    for g in groups {
        // Group ID, then the (absent, in a VPC) group name.
        buf.push_str(&format!("{g}--"));
    }
    format!("sgrule-{}", crc32(buf.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(
        protocol: &str,
        from: i64,
        to: i64,
        cidrs: &[&str],
        groups: &[&str],
        self_ref: bool,
        desc: &str,
    ) -> Value {
        Value::map([
            ("protocol", Value::from(protocol)),
            ("from_port", num(from)),
            ("to_port", num(to)),
            (
                "cidr_blocks",
                list_or_null(cidrs.iter().map(|s| s.to_string()).collect()),
            ),
            ("ipv6_cidr_blocks", Value::Null),
            ("prefix_list_ids", Value::Null),
            (
                "security_groups",
                set_or_null(groups.iter().map(|s| s.to_string()).collect()),
            ),
            ("self", Value::Bool(self_ref)),
            ("description", s(Some(desc))),
        ])
    }

    fn web_permission() -> IpPermission {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
            .ip_ranges(IpRange::builder().cidr_ip("192.168.0.0/16").build())
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("172.16.0.0/12")
                    .description("vpn")
                    .build(),
            )
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-own")
                    .user_id("111")
                    .build(),
            )
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-lb")
                    .user_id("111")
                    .build(),
            )
            .build()
    }

    #[test]
    fn protocols_normalise_like_terraform() {
        assert_eq!(protocol_for_value("all"), "-1");
        assert_eq!(protocol_for_value("-1"), "-1");
        assert_eq!(protocol_for_value("ALL"), "-1");
        assert_eq!(protocol_for_value("6"), "tcp");
        assert_eq!(protocol_for_value("TCP"), "tcp");
        assert_eq!(protocol_for_value("17"), "udp");
        assert_eq!(protocol_for_value("58"), "icmpv6");
        assert_eq!(protocol_for_value("50"), "50");
    }

    #[test]
    fn live_permissions_group_by_ports_protocol_and_description() {
        let grants = permission_grants(&web_permission(), "sg-own", Some("111"));
        assert_eq!(grants.len(), 5);
        let blocks = sort_blocks(grants_to_blocks(&grants));
        assert_eq!(
            blocks,
            sort_blocks(vec![
                block(
                    "tcp",
                    443,
                    443,
                    &["10.0.0.0/8", "192.168.0.0/16"],
                    &["sg-lb"],
                    true,
                    ""
                ),
                block("tcp", 443, 443, &["172.16.0.0/12"], &[], false, "vpn"),
            ])
        );
    }

    #[test]
    fn recorded_blocks_are_read_back_as_written() {
        let live = permission_grants(&web_permission(), "sg-own", Some("111"));
        // Written as two blocks, one with the protocol as a number and the
        // own group listed by ID.
        let recorded = vec![
            block("6", 443, 443, &["10.0.0.0/8"], &["sg-own"], false, ""),
            block("tcp", 443, 443, &["192.168.0.0/16"], &["sg-lb"], false, ""),
            block("tcp", 443, 443, &["172.16.0.0/12"], &[], false, "vpn"),
        ];
        assert_eq!(
            read_rules(&recorded, &live, "sg-own"),
            sort_blocks(recorded.clone())
        );
    }

    #[test]
    fn drift_shows_as_changed_blocks() {
        let live = permission_grants(&web_permission(), "sg-own", Some("111"));
        let recorded = vec![
            // 10.1.0.0/16 was removed out of band; this block no longer holds.
            block(
                "tcp",
                443,
                443,
                &["10.0.0.0/8", "10.1.0.0/16"],
                &[],
                false,
                "",
            ),
        ];
        let read = read_rules(&recorded, &live, "sg-own");
        assert!(!read.contains(&recorded[0]));
        assert_eq!(read, sort_blocks(grants_to_blocks(&live)));
    }

    #[test]
    fn all_protocols_ignore_ports() {
        let perm = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        let live = permission_grants(&perm, "sg-1", None);
        let recorded = vec![block("all", 0, 0, &["0.0.0.0/0"], &[], false, "")];
        assert_eq!(read_rules(&recorded, &live, "sg-1"), recorded);
        let perms = to_permissions(&live, "sg-1");
        assert_eq!(perms[0].from_port(), None);
        assert_eq!(perms[0].ip_protocol(), Some("-1"));
    }

    #[test]
    fn cross_account_groups_carry_their_account() {
        let perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(5432)
            .to_port(5432)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-x")
                    .user_id("222")
                    .build(),
            )
            .build();
        let grants = permission_grants(&perm, "sg-1", Some("111"));
        assert_eq!(grants[0].source, Source::Group("222/sg-x".into()));
        // The same group named without its account is the same grant.
        let spec = Value::map([
            ("protocol", Value::from("tcp")),
            ("from_port", num(5432)),
            ("to_port", num(5432)),
            ("security_groups", Value::from(vec!["sg-x"])),
        ]);
        assert_eq!(
            read_rules(std::slice::from_ref(&spec), &grants, "sg-1"),
            vec![spec]
        );
        let back = to_permissions(&grants, "sg-1");
        let pair = &back[0].user_id_group_pairs()[0];
        assert_eq!(
            (pair.user_id(), pair.group_id()),
            (Some("222"), Some("sg-x"))
        );
    }

    #[test]
    fn a_changed_description_is_an_update_in_place() {
        let grant = |cidr: &str, description: &str| Grant {
            protocol: "tcp".into(),
            from_port: 443,
            to_port: 443,
            source: Source::Cidr(cidr.into()),
            description: description.into(),
        };
        let (redescribe, revoke, authorize) = description_changes(
            vec![grant("10.0.0.0/8", "old"), grant("10.1.0.0/16", "")],
            vec![grant("10.0.0.0/8", "new"), grant("10.2.0.0/16", "")],
        );
        assert_eq!(redescribe, vec![grant("10.0.0.0/8", "new")]);
        assert_eq!(revoke, vec![grant("10.1.0.0/16", "")]);
        assert_eq!(authorize, vec![grant("10.2.0.0/16", "")]);
    }

    #[test]
    fn rule_changes_revoke_dropped_and_authorize_new_grants() {
        let prior = vec![block(
            "tcp",
            80,
            80,
            &["10.0.0.0/8", "10.1.0.0/16"],
            &[],
            false,
            "",
        )];
        let desired = vec![
            block("tcp", 80, 80, &["10.0.0.0/8"], &[], false, ""),
            block("tcp", 443, 443, &[], &[], true, "tls"),
        ];
        let (revoke, authorize) = rule_changes(&prior, &desired, "sg-1");
        assert_eq!(revoke.len(), 1);
        assert_eq!(revoke[0].source, Source::Cidr("10.1.0.0/16".into()));
        assert_eq!(authorize.len(), 1);
        assert_eq!(authorize[0].source, Source::SelfRef);
        let perms = to_permissions(&authorize, "sg-1");
        assert_eq!(perms.len(), 1);
        assert_eq!(perms[0].from_port(), Some(443));
        let pair = &perms[0].user_id_group_pairs()[0];
        assert_eq!(
            (pair.group_id(), pair.description()),
            (Some("sg-1"), Some("tls"))
        );
    }

    #[test]
    fn a_description_change_revokes_and_authorizes() {
        let prior = vec![block("tcp", 22, 22, &["10.0.0.0/8"], &[], false, "old")];
        let desired = vec![block("tcp", 22, 22, &["10.0.0.0/8"], &[], false, "new")];
        let (revoke, authorize) = rule_changes(&prior, &desired, "sg-1");
        assert_eq!((revoke.len(), authorize.len()), (1, 1));
        assert_eq!(revoke[0].key(), authorize[0].key());
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn rule_ids_match_the_terraform_providers() {
        // The vectors of the provider's TestSecurityGroupRuleCreateID.
        let tcp = |sources: Vec<Source>| -> Vec<Grant> {
            sources
                .into_iter()
                .map(|source| Grant {
                    protocol: "tcp".into(),
                    from_port: 80,
                    to_port: 8000,
                    source,
                    description: String::new(),
                })
                .collect()
        };
        let cidr = || tcp(vec![Source::Cidr("10.0.0.0/8".into())]);
        assert_eq!(
            terraform_rule_id("sg-12345", "ingress", &cidr()),
            "sgrule-3403497314"
        );
        assert_eq!(
            terraform_rule_id("sg-12345", "egress", &cidr()),
            "sgrule-1173186295"
        );
        let all = vec![Grant {
            protocol: "-1".into(),
            from_port: 0,
            to_port: 0,
            source: Source::Cidr("10.0.0.0/8".into()),
            description: String::new(),
        }];
        assert_eq!(
            terraform_rule_id("sg-12345", "egress", &all),
            "sgrule-766323498"
        );
        let groups = tcp(vec![
            Source::Group("987654321/sg-12345678".into()),
            Source::Group("123456789/sg-987654321".into()),
            Source::Group("sg-12345678".into()),
        ]);
        assert_eq!(
            terraform_rule_id("sg-12345", "egress", &groups),
            "sgrule-351225364"
        );
    }
}
