//! Checks of `provider` blocks and of the `provider` meta-argument: one
//! default configuration per provider, no aliases (not supported yet, and
//! never guessed at), and a region AWS has.

use std::collections::BTreeMap;

use crate::config::{Config, ProviderBlock};
use crate::diag::{Diagnostic, Span};
use crate::eval::Scope;
use crate::expr::{ExprKind, OpKind, TraversalOp};
use crate::value::Value;

const ALIAS_HELP: &str = "help: stackd uses one provider \"aws\" block per stack, so every \
     resource goes to its region and account; deploy other regions as separate stacks \
     (aliases are planned)";

/// Every problem with provider blocks and `provider` meta-arguments.
pub fn check_providers(config: &Config, scope: &Scope) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    check_blocks(config, &mut diags);
    check_meta_arguments(config, &mut diags);
    for p in config.providers.iter().filter(|p| p.name == "aws") {
        if let Some(a) = p.body.attr("region") {
            // An error evaluating the region is reported where the provider
            // settings are read; only a known string is checked here.
            if let Ok(Value::String(region)) = scope.eval(&a.expr) {
                diags.extend(check_region(&region, a.expr.span));
            }
        }
    }
    diags
}

/// Aliased blocks, and a second default block for one provider.
fn check_blocks(config: &Config, diags: &mut Vec<Diagnostic>) {
    let mut defaults: BTreeMap<&str, &ProviderBlock> = BTreeMap::new();
    for p in &config.providers {
        if let Some(alias) = p.body.attr("alias") {
            let name = match &alias.expr.kind {
                ExprKind::Literal(Value::String(s)) => format!("{}.{s}", p.name),
                _ => format!("an alias of {}", p.name),
            };
            diags.push(
                Diagnostic::error(
                    format!(
                        "provider aliases are not supported yet; this provider \"{}\" block defines {name}",
                        p.name
                    ),
                    Some(alias.name_span),
                )
                .note(ALIAS_HELP),
            );
            continue;
        }
        match defaults.get(p.name.as_str()) {
            Some(first) => diags.push(
                Diagnostic::error(
                    format!("duplicate provider configuration for \"{}\"", p.name),
                    Some(p.span),
                )
                .note(format!(
                    "a default provider \"{}\" block is already at {}; stackd would not know which \
                     one a resource means",
                    p.name,
                    config.sources.location(first.span)
                ))
                .note(ALIAS_HELP),
            ),
            None => {
                defaults.insert(&p.name, p);
            }
        }
    }
}

/// `provider = aws.west` on a resource or data block.
fn check_meta_arguments(config: &Config, diags: &mut Vec<Diagnostic>) {
    for r in &config.resources {
        let Some(e) = &r.provider else { continue };
        let expected = r.addr.type_name.split('_').next().unwrap_or_default();
        let problem = match &e.kind {
            ExprKind::Variable(name) if name == expected => None,
            ExprKind::Variable(name) => Some(format!(
                "{} names provider \"{name}\", but its type belongs to provider \"{expected}\"",
                r.addr
            )),
            ExprKind::Traversal(base, ops) => match (&base.kind, ops.as_slice()) {
                (
                    ExprKind::Variable(name),
                    [TraversalOp {
                        kind: OpKind::GetAttr(alias),
                        ..
                    }],
                ) => Some(format!(
                    "provider aliases are not supported yet; {} asks for provider {name}.{alias}",
                    r.addr
                )),
                _ => Some(not_a_provider_reference(r.addr.to_string())),
            },
            _ => Some(not_a_provider_reference(r.addr.to_string())),
        };
        if let Some(message) = problem {
            diags.push(Diagnostic::error(message, Some(e.span)).note(ALIAS_HELP));
        }
    }
}

fn not_a_provider_reference(addr: String) -> String {
    format!("the provider argument of {addr} must name a provider, such as aws")
}

/// Every region of the commercial, China and GovCloud partitions (and the
/// European Sovereign Cloud).
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Checks a region name. A known region is fine. A name shaped like one
/// (`xx-word-N`) that is not known is a warning, so regions opened after
/// this list was written still work, unless one of its words is a
/// misspelling of a word regions use (`us-esat-1`): that is an error with a
/// suggestion. Anything else is an error.
pub fn check_region(region: &str, span: Span) -> Option<Diagnostic> {
    if AWS_REGIONS.contains(&region) {
        return None;
    }
    let suggestion = crate::suggest::nearest(region, AWS_REGIONS.iter().copied()).or_else(|| {
        crate::suggest::nearest(&region.to_ascii_lowercase(), AWS_REGIONS.iter().copied())
    });
    let with_help = |d: Diagnostic| match suggestion {
        Some(s) => d.note(format!("help: did you mean \"{s}\"?")),
        None => d,
    };
    let Some(words) = region_words(region) else {
        return Some(with_help(Diagnostic::error(
            format!("\"{region}\" is not an AWS region name (such as us-east-1)"),
            Some(span),
        )));
    };
    let known_words: Vec<&str> = AWS_REGIONS
        .iter()
        .filter_map(|r| region_words(r))
        .flat_map(|w| w.into_iter().skip(1))
        .collect();
    let misspelled = words.iter().skip(1).find(|w| {
        !known_words.contains(w)
            && crate::suggest::nearest(w, known_words.iter().copied()).is_some()
    });
    if let Some(word) = misspelled {
        return Some(with_help(Diagnostic::error(
            format!("unknown AWS region \"{region}\": \"{word}\" looks misspelled"),
            Some(span),
        )));
    }
    Some(with_help(Diagnostic::warning(
        format!("\"{region}\" is not an AWS region stackd knows; it is used as given"),
        Some(span),
    )))
}

/// The words of a region-shaped name (`us-gov-west-1` → `us`, `gov`,
/// `west`): lowercase letters separated by `-`, then a number.
fn region_words(region: &str) -> Option<Vec<&str>> {
    let (words, number) = region.rsplit_once('-')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let words: Vec<&str> = words.split('-').collect();
    let shaped = words.len() >= 2
        && (2..=4).contains(&words[0].len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
    shaped.then_some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass_typos_fail_and_new_regions_warn() {
        let span = Span::default();
        assert!(check_region("us-east-1", span).is_none());
        assert!(check_region("cn-northwest-1", span).is_none());
        assert!(check_region("us-gov-west-1", span).is_none());

        let typo = check_region("us-esat-1", span).expect("a typo is reported");
        assert!(typo.is_error());
        assert!(
            typo.notes.iter().any(|n| n.contains("\"us-east-1\"")),
            "{typo:?}"
        );

        let shape = check_region("us-east1", span).expect("not a region name");
        assert!(shape.is_error());
        assert!(
            shape.notes.iter().any(|n| n.contains("\"us-east-1\"")),
            "{shape:?}"
        );
        assert!(check_region("US-EAST-1", span).is_some_and(|d| d.is_error()));

        for new in ["ap-southeast-9", "us-north-1", "xy-central-1"] {
            let d = check_region(new, span).expect("an unknown region is noted");
            assert!(!d.is_error(), "{new}: {d:?}");
        }
    }

    #[test]
    fn the_region_list_is_sorted_and_every_entry_is_region_shaped() {
        assert!(AWS_REGIONS.windows(2).all(|w| w[0] < w[1]));
        assert!(
            AWS_REGIONS.iter().all(|r| region_words(r).is_some()),
            "{AWS_REGIONS:?}"
        );
    }
}
