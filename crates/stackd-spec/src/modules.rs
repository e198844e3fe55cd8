//! Where a module call's configuration comes from, and reading it: local
//! paths (`./modules/network`, `../shared`) are read from disk, to any
//! depth; registry and git sources are read from where `terraform init`
//! installed them (`.terraform/modules/modules.json` beside the root), and
//! are otherwise an error that says how to vendor them. stackd never
//! fetches anything while reading a spec.

use std::path::{Path, PathBuf};

use crate::config::{Config, MAX_MODULE_DEPTH};
use crate::diag::{Diagnostic, SourceMap};

/// The modules a `terraform init` installed, from
/// `.terraform/modules/modules.json`: module key (`net`, `net.subnets`) →
/// directory.
#[derive(Debug, Default)]
pub struct Installed {
    dirs: Vec<(String, PathBuf)>,
}

#[derive(serde::Deserialize)]
struct ModulesJson {
    #[serde(rename = "Modules", default)]
    modules: Vec<ModuleEntry>,
}

#[derive(serde::Deserialize)]
struct ModuleEntry {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Dir")]
    dir: String,
}

impl Installed {
    /// What `terraform init` left beside `root`, if anything.
    pub fn find(root: &Path) -> Installed {
        let path = root.join(".terraform/modules/modules.json");
        let Ok(bytes) = std::fs::read(&path) else {
            return Installed::default();
        };
        let Ok(doc) = serde_json::from_slice::<ModulesJson>(&bytes) else {
            return Installed::default();
        };
        Installed {
            dirs: doc
                .modules
                .into_iter()
                .filter(|m| !m.key.is_empty())
                .map(|m| (m.key, root.join(m.dir)))
                .collect(),
        }
    }

    fn dir(&self, key: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, d)| d.as_path())
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system (so a path
/// shown in a message is the one the user would write).
fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A local path, as Terraform recognises one.
pub fn is_local(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../") || source == "." || source == ".."
}

/// Reads the configuration of every module `config` calls, and of theirs,
/// into each call's `child`; their files go into `sources`. `ancestors`
/// holds the (canonical) directories of the calls above, to refuse a
/// module that calls itself; `path` is the module path of `config`.
pub fn load_children(
    config: &mut Config,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    ancestors: &mut Vec<PathBuf>,
    installed: &Installed,
    path: &[String],
) {
    let parent_dir = config.dir.clone();
    let root_dir = config
        .root_dir
        .clone()
        .unwrap_or_else(|| parent_dir.clone());
    for call in config.modules.values_mut() {
        let Some(source) = call.source.clone() else {
            continue;
        };
        let mut key: Vec<String> = path.to_vec();
        key.push(call.name.clone());
        let dir = if is_local(&source) {
            clean(&parent_dir.join(&source))
        } else if let Some(dir) = installed.dir(&key.join(".")) {
            dir.to_path_buf()
        } else {
            diags.push(
                Diagnostic::error(
                    format!(
                        "module \"{}\": stackd does not fetch module sources (\"{source}\")",
                        call.name
                    ),
                    Some(call.source_span),
                )
                .note(format!(
                    "help: vendor the module into the spec tree and call it by a local path \
                     (source = \"./modules/{}\"), or run `terraform init` here so that \
                     .terraform/modules holds it",
                    call.name
                )),
            );
            continue;
        };
        if !dir.is_dir() {
            diags.push(Diagnostic::error(
                format!(
                    "module \"{}\": its source directory {} does not exist",
                    call.name,
                    dir.display()
                ),
                Some(call.source_span),
            ));
            continue;
        }
        let canonical = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if ancestors.contains(&canonical) {
            diags.push(Diagnostic::error(
                format!(
                    "module \"{}\" calls {} again, which calls it: a module cannot contain itself",
                    call.name,
                    dir.display()
                ),
                Some(call.source_span),
            ));
            continue;
        }
        if ancestors.len() > MAX_MODULE_DEPTH {
            diags.push(Diagnostic::error(
                format!("module calls nest more than {MAX_MODULE_DEPTH} deep"),
                Some(call.source_span),
            ));
            continue;
        }
        let (mut child, child_diags) = match Config::read_dir(&dir, sources) {
            Ok(read) => read,
            Err(e) => {
                diags.push(Diagnostic::error(
                    format!(
                        "module \"{}\": cannot read {}: {e}",
                        call.name,
                        dir.display()
                    ),
                    Some(call.source_span),
                ));
                continue;
            }
        };
        // A module that does not parse is not validated further (its
        // half-read blocks would only add noise).
        let parsed = !child_diags.iter().any(Diagnostic::is_error);
        diags.extend(child_diags);
        if !parsed {
            continue;
        }
        child.root_dir = Some(root_dir.clone());
        ancestors.push(canonical);
        load_children(&mut child, sources, diags, ancestors, installed, &key);
        ancestors.pop();
        call.child = Some(Box::new(child));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_cleaned_lexically() {
        assert_eq!(
            clean(Path::new("spec/./modules/x")),
            PathBuf::from("spec/modules/x")
        );
        assert_eq!(
            clean(Path::new("spec/modules/x/../y")),
            PathBuf::from("spec/modules/y")
        );
        assert_eq!(clean(Path::new("../shared")), PathBuf::from("../shared"));
        assert!(is_local("./m") && is_local("../m") && !is_local("terraform-aws-modules/vpc/aws"));
        assert!(!is_local("git::https://example.com/m.git"));
    }
}
