//! Where a module call's configuration comes from, and reading it: local
//! paths (`./modules/network`, `../shared`) are read from disk, to any
//! depth; git sources from where `stackd init` fetched them
//! (`.stackd/modules/`, recorded with their commit in
//! `.stackd/modules.lock.json`); registry sources from where `terraform
//! init` installed them (`.terraform/modules/modules.json` beside the
//! root), and are otherwise an error that says how to vendor them. Reading
//! a spec never fetches anything: this module only reads what is on disk.

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

/// Where `stackd init` records the git modules it fetched, beside the root.
pub const LOCK_FILE: &str = ".stackd/modules.lock.json";
/// Where `stackd init` puts them.
pub const CACHE_DIR: &str = ".stackd/modules";

/// `.stackd/modules.lock.json`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lock {
    pub version: u32,
    pub modules: Vec<Locked>,
}

/// One fetched git module.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Locked {
    /// The module key: call names from the root joined by `.`.
    pub key: String,
    /// The `source` as written when it was fetched.
    pub source: String,
    /// The commit its `ref` resolved to.
    pub commit: String,
    /// The module's directory, relative to the root.
    pub dir: String,
}

impl Lock {
    /// The lock file beside `root`; empty when there is none. A lock file
    /// that does not parse is an error (it is never silently ignored).
    pub fn read(root: &Path) -> Result<Lock, String> {
        let path = root.join(LOCK_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not a module lock file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock {
                version: 1,
                modules: Vec::new(),
            }),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Locked> {
        self.modules.iter().find(|m| m.key == key)
    }
}

/// A git module source: `git::https://host/org/repo.git//subdir?ref=v1.2.0`,
/// `git::ssh://git@host/org/repo.git`, `git@github.com:org/repo.git`,
/// `github.com/org/repo//subdir?ref=v1`, `git::file:///srv/repo.git`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitSource {
    /// What `git clone` is given.
    pub url: String,
    /// The directory inside the repository (`//subdir`).
    pub subdir: Option<String>,
    /// The `ref` (tag, branch or commit); `None`: the default branch.
    pub reference: Option<String>,
}

impl GitSource {
    pub fn parse(source: &str) -> Option<GitSource> {
        let (rest, forced) = match source.strip_prefix("git::") {
            Some(r) => (r, true),
            None => (source, false),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let reference = query.and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("ref="))
                .map(str::to_string)
        });
        // `//` after the scheme's `://` separates the subdirectory.
        let after_scheme = rest.find("://").map(|i| i + 3).unwrap_or(0);
        let (repo, subdir) = match rest[after_scheme..].find("//") {
            Some(i) => (
                &rest[..after_scheme + i],
                Some(rest[after_scheme + i + 2..].trim_matches('/').to_string()),
            ),
            None => (rest, None),
        };
        let url = if let Some(path) = repo.strip_prefix("github.com/") {
            format!("https://github.com/{}.git", path.trim_end_matches(".git"))
        } else if let Some(path) = repo.strip_prefix("bitbucket.org/") {
            format!(
                "https://bitbucket.org/{}.git",
                path.trim_end_matches(".git")
            )
        } else if forced
            || repo.starts_with("git@")
            || (repo.contains("://") && repo.ends_with(".git"))
        {
            repo.to_string()
        } else {
            return None;
        };
        Some(GitSource {
            url,
            subdir: subdir.filter(|s| !s.is_empty()),
            reference,
        })
    }
}

/// A git module a call names that `stackd init` has not fetched (or fetched
/// from another `source`).
#[derive(Clone, Debug, PartialEq)]
pub struct Unfetched {
    pub key: String,
    pub source: String,
    /// The source it was fetched from, when that differs.
    pub locked_source: Option<String>,
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
#[allow(clippy::too_many_arguments)]
pub fn load_children(
    config: &mut Config,
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
    ancestors: &mut Vec<PathBuf>,
    installed: &Installed,
    lock: &Lock,
    unfetched: &mut Vec<Unfetched>,
    path: &[String],
) {
    let root = ancestors.first().cloned().unwrap_or_default();
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
        } else if let Some(git) = GitSource::parse(&source) {
            let key = key.join(".");
            match lock.get(&key) {
                Some(locked) if locked.source == source => root.join(&locked.dir),
                locked => {
                    let locked_source = locked.map(|l| l.source.clone());
                    let message = match &locked_source {
                        Some(old) => format!(
                            "module \"{}\": its source changed since `stackd init` fetched \
                             {old:?}",
                            call.name
                        ),
                        None => format!(
                            "module \"{}\": the git source {} is not fetched yet",
                            call.name, git.url
                        ),
                    };
                    let help = if locked_source.is_some() {
                        "help: run `stackd init -upgrade` to fetch the new source"
                    } else {
                        "help: run `stackd init` (apply and diff run it when nothing is fetched)"
                    };
                    diags.push(Diagnostic::error(message, Some(call.source_span)).note(help));
                    unfetched.push(Unfetched {
                        key,
                        source,
                        locked_source,
                    });
                    continue;
                }
            }
        } else if let Some(dir) = installed.dir(&key.join(".")) {
            dir.to_path_buf()
        } else {
            diags.push(
                Diagnostic::error(
                    format!(
                        "module \"{}\": stackd does not fetch registry modules (\"{source}\")",
                        call.name
                    ),
                    Some(call.source_span),
                )
                .note(format!(
                    "help: vendor the module into the spec tree and call it by a local path \
                     (source = \"./modules/{}\") or by a git source (git::https://…?ref=…), \
                     or run `terraform init` here so that .terraform/modules holds it",
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
        load_children(
            &mut child, sources, diags, ancestors, installed, lock, unfetched, &key,
        );
        ancestors.pop();
        call.child = Some(Box::new(child));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_sources_are_read_as_terraform_reads_them() {
        let g = |s: &str| GitSource::parse(s);
        assert_eq!(
            g("git::https://example.com/org/repo.git//modules/vpc?ref=v1.2.0"),
            Some(GitSource {
                url: "https://example.com/org/repo.git".into(),
                subdir: Some("modules/vpc".into()),
                reference: Some("v1.2.0".into()),
            })
        );
        assert_eq!(
            g("git::ssh://git@example.com/org/repo.git?ref=main").map(|s| s.url),
            Some("ssh://git@example.com/org/repo.git".into())
        );
        assert_eq!(
            g("github.com/org/repo//sub?ref=v1"),
            Some(GitSource {
                url: "https://github.com/org/repo.git".into(),
                subdir: Some("sub".into()),
                reference: Some("v1".into()),
            })
        );
        assert_eq!(
            g("git@github.com:org/repo.git?ref=abc123"),
            Some(GitSource {
                url: "git@github.com:org/repo.git".into(),
                subdir: None,
                reference: Some("abc123".into()),
            })
        );
        assert_eq!(
            g("git::file:///srv/repos/m.git//logs").map(|s| (s.url, s.subdir)),
            Some(("file:///srv/repos/m.git".into(), Some("logs".into())))
        );
        // Registry addresses and local paths are not git.
        assert_eq!(g("terraform-aws-modules/vpc/aws"), None);
        assert_eq!(g("./modules/x"), None);
    }

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
