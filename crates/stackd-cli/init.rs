//! `stackd init`: fetches the git modules a spec tree calls into
//! `.stackd/modules/` with the system `git`, and records the commit each
//! `ref` resolved to in `.stackd/modules.lock.json`. Reading a spec never
//! fetches (stackd-spec only reads what is on disk); `apply` and `diff`
//! run this when a git module was never fetched, saying so, and never
//! re-fetch one that was: a changed `ref` needs `stackd init -upgrade`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use stackd_spec::config::{Config, MAX_MODULE_DEPTH};
use stackd_spec::modules::{GitSource, Lock, Locked, CACHE_DIR, LOCK_FILE};

use crate::out::errln;

/// What init did.
#[derive(Debug, Default)]
pub struct Fetched {
    /// (module key, source, commit)
    pub modules: Vec<(String, String, String)>,
}

/// Fetches every git module of the tree at `dir` that is not fetched yet
/// (with `upgrade`, every git module again, at its current source).
/// Nested git modules are found as their parents arrive.
pub fn init(dir: &Path, upgrade: bool) -> Result<Fetched> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut fetched = Fetched::default();
    for _ in 0..=MAX_MODULE_DEPTH {
        let (config, _) = Config::load_dir(dir)
            .with_context(|| format!("cannot read spec directory {}", dir.display()))?;
        let mut todo: Vec<(String, String)> = Vec::new();
        for u in &config.unfetched {
            if u.locked_source.is_some() && !upgrade {
                bail!(
                    "module {}: its source is now {:?} but `stackd init` fetched {:?}; run \
                     `stackd init -upgrade` to fetch the new source",
                    u.key,
                    u.source,
                    u.locked_source.as_deref().unwrap_or_default()
                );
            }
            todo.push((u.key.clone(), u.source.clone()));
        }
        if upgrade {
            for (key, source) in git_calls(&config) {
                if !done.contains(&key) && !todo.iter().any(|(k, _)| k == &key) {
                    todo.push((key, source));
                }
            }
        }
        todo.retain(|(k, _)| !done.contains(k));
        if todo.is_empty() {
            return Ok(fetched);
        }
        for (key, source) in todo {
            let commit = fetch(dir, &key, &source)?;
            fetched.modules.push((key.clone(), source, commit));
            done.insert(key);
        }
    }
    bail!("git modules nest more than {MAX_MODULE_DEPTH} deep")
}

/// True when the tree calls a git module that was never fetched.
pub fn needed(dir: &Path) -> bool {
    Config::load_dir(dir).is_ok_and(|(c, _)| c.unfetched.iter().any(|u| u.locked_source.is_none()))
}

/// Every git module call of the tree that was read: (key, source).
fn git_calls(config: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, c) in config.tree() {
        for (name, call) in &c.modules {
            let Some(source) = &call.source else { continue };
            if GitSource::parse(source).is_some() && !stackd_spec::modules::is_local(source) {
                let mut key = path.clone();
                key.push(name.clone());
                out.push((key.join("."), source.clone()));
            }
        }
    }
    out
}

/// Clones one module at its `ref` into `.stackd/modules/KEY` and records
/// it in the lock file. Returns the commit.
fn fetch(root: &Path, key: &str, source: &str) -> Result<String> {
    let git =
        GitSource::parse(source).with_context(|| format!("{source:?} is not a git source"))?;
    if key.contains('/') || key.contains("..") {
        bail!("module key {key:?} cannot name a directory");
    }
    // Cloned beside the cache entry and swapped in only when complete: a
    // fetch that fails leaves the module fetched before as it was.
    let final_dest = root.join(CACHE_DIR).join(key);
    let dest = root.join(CACHE_DIR).join(format!("{key}.fetching"));
    if dest.exists() {
        std::fs::remove_dir_all(&dest)
            .with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    std::fs::create_dir_all(root.join(CACHE_DIR))
        .with_context(|| format!("cannot create {}", root.join(CACHE_DIR).display()))?;
    errln!(
        "Fetching module {key} from {}{}",
        git.url,
        git.reference
            .as_deref()
            .map(|r| format!(" at {r}"))
            .unwrap_or_default()
    );
    run_git(
        &[
            "clone",
            "--quiet",
            "--no-checkout",
            "--",
            &git.url,
            &dest.to_string_lossy(),
        ],
        None,
    )
    .with_context(|| format!("module {key}: cannot clone {}", git.url))?;
    let reference = git.reference.as_deref().unwrap_or("HEAD");
    // A tag, a commit or the default branch checks out as it is named;
    // another branch exists only as origin/NAME after a clone.
    let remote = format!("origin/{reference}");
    let checkout = run_git(
        &["checkout", "--quiet", "--detach", reference, "--"],
        Some(&dest),
    )
    .or_else(|_| {
        run_git(
            &["checkout", "--quiet", "--detach", &remote, "--"],
            Some(&dest),
        )
    });
    if checkout.is_err() {
        let _ = std::fs::remove_dir_all(&dest);
        bail!("module {key}: {} has no ref {reference:?}", git.url);
    }
    let commit = run_git(&["rev-parse", "HEAD"], Some(&dest))?
        .trim()
        .to_string();
    if let Some(sub) = &git.subdir {
        if !dest.join(sub).is_dir() {
            let _ = std::fs::remove_dir_all(&dest);
            bail!(
                "module {key}: {} at {reference} has no directory {sub:?}",
                git.url
            );
        }
    }
    if final_dest.exists() {
        std::fs::remove_dir_all(&final_dest)
            .with_context(|| format!("cannot remove {}", final_dest.display()))?;
    }
    std::fs::rename(&dest, &final_dest)
        .with_context(|| format!("cannot move the fetched module to {}", final_dest.display()))?;
    let mut module_dir = Path::new(CACHE_DIR).join(key);
    if let Some(sub) = &git.subdir {
        module_dir = module_dir.join(sub);
    }
    let mut lock = Lock::read(root).map_err(anyhow::Error::msg)?;
    lock.version = 1;
    lock.modules.retain(|m| m.key != key);
    lock.modules.push(Locked {
        key: key.to_string(),
        source: source.to_string(),
        commit: commit.clone(),
        dir: module_dir.to_string_lossy().into_owned(),
    });
    lock.modules.sort_by(|a, b| a.key.cmp(&b.key));
    write_lock(root, &lock)?;
    Ok(commit)
}

/// Writes the lock file whole or not at all.
fn write_lock(root: &Path, lock: &Lock) -> Result<()> {
    let path = root.join(LOCK_FILE);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(lock)? + "\n";
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Runs git without a terminal prompt (a missing credential fails instead
/// of waiting for input), returning its stdout.
fn run_git(args: &[&str], dir: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd
        .output()
        .context("cannot run git (is it installed and on PATH?)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
