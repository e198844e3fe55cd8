//! Terraform's local provider: the `local_file` and `local_sensitive_file`
//! resources (a file written at create, removed at destroy; a file that is
//! gone or was changed since is reported gone by refresh, so the plan
//! writes it again) and the data sources of the same names (a file read).
//! Argument and attribute names are the provider's; `id` is the SHA-1 of
//! the content in hex.
//!
//! Relative paths: Terraform reads them against its working directory,
//! which is the root module's directory. stackd is given that directory
//! (`stackd apply DIR`) rather than run in it, so the provider reads
//! relative paths against the directory it was made for
//! ([`crate::LocalProvider::in_dir`]), as `file()` does; the state keeps the
//! path as written. `"${path.module}/x"` is absolute and needs none of this.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use md5::{Digest, Md5};
use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema};
use stackd_spec::Value;

/// The schemas of the types this module serves.
pub fn schemas() -> Vec<ResourceSchema> {
    let checksums = |r: ResourceSchema| {
        r.attr(
            AttrSchema::computed("content_md5", AttrType::String).doc("MD5 of the content, hex."),
        )
        .attr(
            AttrSchema::computed("content_sha1", AttrType::String)
                .doc("SHA-1 of the content, hex."),
        )
        .attr(
            AttrSchema::computed("content_sha256", AttrType::String)
                .doc("SHA-256 of the content, hex."),
        )
        .attr(
            AttrSchema::computed("content_base64sha256", AttrType::String)
                .doc("SHA-256 of the content, base64."),
        )
        .attr(
            AttrSchema::computed("content_sha512", AttrType::String)
                .doc("SHA-512 of the content, hex."),
        )
        .attr(
            AttrSchema::computed("content_base64sha512", AttrType::String)
                .doc("SHA-512 of the content, base64."),
        )
    };
    let filename = || {
        AttrSchema::required("filename", AttrType::String)
            .force_new()
            .doc("The file to write; missing parent directories are made. Relative paths are read against the spec directory.")
    };
    let permission = |name: &'static str, default: &'static str, doc: &'static str| {
        AttrSchema::optional(name, AttrType::String)
            .default(default)
            .force_new()
            .doc(doc)
    };
    let content = |sensitive: bool| {
        let a = AttrSchema::optional("content", AttrType::String)
            .force_new()
            .doc("The content, as UTF-8 text. Exactly one of the content arguments and source is needed.");
        if sensitive {
            a.sensitive()
        } else {
            a
        }
    };
    let content_base64 = |sensitive: bool| {
        let a = AttrSchema::optional("content_base64", AttrType::String)
            .force_new()
            .doc("The content, as base64 (binary files).");
        if sensitive {
            a.sensitive()
        } else {
            a
        }
    };
    let source = || {
        AttrSchema::optional("source", AttrType::String)
            .force_new()
            .doc("A file whose content is copied.")
    };
    let data = |name: &'static str, sensitive: bool| {
        let text = AttrSchema::computed("content", AttrType::String).doc("The content, as text.");
        let b64 =
            AttrSchema::computed("content_base64", AttrType::String).doc("The content, as base64.");
        let (text, b64) = if sensitive {
            (text.sensitive(), b64.sensitive())
        } else {
            (text, b64)
        };
        checksums(
            ResourceSchema::data(name)
                .attr(
                    AttrSchema::required("filename", AttrType::String).doc(
                        "The file to read; relative paths are read against the spec directory.",
                    ),
                )
                .attr(text)
                .attr(b64),
        )
    };
    vec![
        checksums(
            ResourceSchema::resource("local_file")
                .attr(filename())
                .attr(content(false))
                .attr(
                    AttrSchema::optional("sensitive_content", AttrType::String)
                        .force_new()
                        .sensitive()
                        .doc("Deprecated: the content, hidden from plans (local_sensitive_file is the modern form)."),
                )
                .attr(content_base64(false))
                .attr(source())
                .attr(permission("file_permission", "0777", "The file's permissions in octal (before the umask); default \"0777\"."))
                .attr(permission("directory_permission", "0777", "Permissions of the directories made (before the umask); default \"0777\".")),
        )
        .doc("A file written on the machine running stackd, removed on destroy; written again when it is gone or was changed."),
        checksums(
            ResourceSchema::resource("local_sensitive_file")
                .attr(filename())
                .attr(content(true))
                .attr(content_base64(true))
                .attr(source())
                .attr(permission("file_permission", "0700", "The file's permissions in octal (before the umask); default \"0700\"."))
                .attr(permission("directory_permission", "0700", "Permissions of the directories made (before the umask); default \"0700\".")),
        )
        .doc("local_file with its content hidden from plans and default permissions 0700."),
        data("local_file", false).doc("Reads a file on the machine running stackd."),
        data("local_sensitive_file", true).doc("Reads a file, its content hidden from plans."),
    ]
}

/// True when this module serves `type_name` (as a resource or a data source).
pub fn serves(type_name: &str) -> bool {
    matches!(type_name, "local_file" | "local_sensitive_file")
}

/// The path `filename` names: as written when absolute, else under `base`.
fn resolve(base: &Path, filename: &str) -> PathBuf {
    let p = Path::new(filename);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn filename(args: &BTreeMap<String, Value>) -> Result<&str, String> {
    match args.get("filename").and_then(Value::as_str) {
        Some(f) if !f.is_empty() => Ok(f),
        _ => Err("filename must be a non-empty string".into()),
    }
}

/// Writes the file; its attributes.
pub fn create(base: &Path, desired: &Value) -> Result<Value, String> {
    let Value::Map(args) = desired else {
        return Err("the arguments are not an object".into());
    };
    let name = filename(args)?;
    let path = resolve(base, name);
    let content = content_of(base, args)?;
    let file_mode = permission(args, "file_permission")?;
    let dir_mode = permission(args, "directory_permission")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            make_dirs(dir, dir_mode)
                .map_err(|e| format!("cannot make the directory {}: {e}", dir.display()))?;
        }
    }
    write_file(&path, &content, file_mode)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut out = args.clone();
    out.extend(checksums(&content));
    Ok(Value::Map(out))
}

/// Removes the file; one already gone is success.
pub fn delete(base: &Path, prior: &Value) -> Result<(), String> {
    let Some(name) = prior.get("filename").and_then(Value::as_str) else {
        return Ok(());
    };
    let path = resolve(base, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

/// True when the recorded file is still there with the recorded content
/// (its SHA-1 is the `id`), as the provider's read decides.
pub fn still_exists(base: &Path, attrs: &Value) -> bool {
    let (Some(name), Some(id)) = (
        attrs.get("filename").and_then(Value::as_str),
        attrs.get("id").and_then(Value::as_str),
    ) else {
        return false;
    };
    match read_bounded(&resolve(base, name)) {
        Ok(content) => crate::hex(&sha1::Sha1::digest(&content)) == id,
        Err(_) => false,
    }
}

/// Reads the data source: the file's content and checksums.
pub fn read(base: &Path, args: &Value) -> Result<Value, String> {
    let Value::Map(args) = args else {
        return Err("the arguments are not an object".into());
    };
    let path = resolve(base, filename(args)?);
    let content =
        read_bounded(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out: BTreeMap<String, Value> = checksums(&content).into_iter().collect();
    out.insert(
        "content".into(),
        Value::from(String::from_utf8_lossy(&content).into_owned()),
    );
    out.insert(
        "content_base64".into(),
        Value::from(Base64::encode_string(&content)),
    );
    Ok(Value::Map(out))
}

/// The bytes to write: exactly one of `content`, `sensitive_content`,
/// `content_base64` and `source`.
fn content_of(base: &Path, args: &BTreeMap<String, Value>) -> Result<Vec<u8>, String> {
    let given: Vec<(&str, &str)> = ["content", "sensitive_content", "content_base64", "source"]
        .into_iter()
        .filter_map(|k| args.get(k).and_then(Value::as_str).map(|v| (k, v)))
        .collect();
    match given.as_slice() {
        [("content" | "sensitive_content", text)] => Ok(text.as_bytes().to_vec()),
        [("content_base64", b64)] => Base64::decode_vec(b64.trim())
            .map_err(|e| format!("content_base64 is not valid base64: {e}")),
        [("source", src)] => {
            let path = resolve(base, src);
            read_bounded(&path).map_err(|e| format!("cannot read source {}: {e}", path.display()))
        }
        [] => Err("one of content, sensitive_content, content_base64 and source is needed".into()),
        several => Err(format!(
            "only one of content, sensitive_content, content_base64 and source may be set, not {}",
            several
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

/// A permission as the provider takes it: three or four octal digits.
fn permission(args: &BTreeMap<String, Value>, name: &str) -> Result<u32, String> {
    let text = args.get(name).and_then(Value::as_str).unwrap_or("0777");
    let valid = (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(mode) if valid && mode <= 0o777 => Ok(mode),
        _ => Err(format!(
            "{name} must be a file permission in octal such as \"0644\", got {text:?}"
        )),
    }
}

fn make_dirs(dir: &Path, mode: u32) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
    #[cfg(not(unix))]
    let _ = mode;
    builder.create(dir)
}

/// As Go's `os.WriteFile`: created with `mode` (before the umask), or
/// truncated and rewritten, keeping its mode, when it exists.
fn write_file(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

/// Reads a file of at most a string's size (`/dev/zero` never ends).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let limit = stackd_spec::limits::MAX_STRING_LEN;
    let mut content = Vec::new();
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut content)?;
    if content.len() > limit {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            limit >> 20
        )));
    }
    Ok(content)
}

/// `id` and the `content_*` checksums of `content`.
fn checksums(content: &[u8]) -> Vec<(String, Value)> {
    let sha1 = crate::hex(&sha1::Sha1::digest(content));
    let sha256 = sha2::Sha256::digest(content);
    let sha512 = sha2::Sha512::digest(content);
    [
        ("id", sha1.clone()),
        ("content_md5", crate::hex(&Md5::digest(content))),
        ("content_sha1", sha1),
        ("content_sha256", crate::hex(&sha256)),
        ("content_base64sha256", Base64::encode_string(&sha256)),
        ("content_sha512", crate::hex(&sha512)),
        ("content_base64sha512", Base64::encode_string(&sha512)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Value::from(v)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    fn text<'a>(v: &'a Value, name: &str) -> &'a str {
        v.get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{name} in {v:?}"))
    }

    #[test]
    fn create_writes_the_file_with_the_providers_checksums() {
        let dir = tempfile::tempdir().expect("temp dir");
        let v = create(
            dir.path(),
            &args(&[
                ("filename", Value::from("out/sub/hello.txt")),
                ("content", Value::from("hello world")),
                ("file_permission", Value::from("0640")),
                ("directory_permission", Value::from("0755")),
            ]),
        )
        .expect("creates");
        let path = dir.path().join("out/sub/hello.txt");
        assert_eq!(
            std::fs::read_to_string(&path).expect("written"),
            "hello world"
        );
        // Known digests of "hello world".
        assert_eq!(text(&v, "id"), "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
        assert_eq!(text(&v, "content_sha1"), text(&v, "id"));
        assert_eq!(text(&v, "content_md5"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(
            text(&v, "content_sha256"),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(
            text(&v, "content_base64sha256"),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert!(text(&v, "content_sha512").starts_with("309ecc489c12d6eb4cc40f50c902f2b4"));
        // The arguments are kept as written: the next plan finds no change.
        assert_eq!(text(&v, "filename"), "out/sub/hello.txt");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode & !0o640, 0, "at most 0640 after the umask: {mode:o}");
        }
        assert!(still_exists(dir.path(), &v));
    }

    #[test]
    fn refresh_finds_a_changed_or_removed_file_gone_and_delete_removes_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.txt");
        let file_name = file.to_str().expect("utf-8");
        let v = create(
            Path::new("/nonexistent-base"),
            &args(&[
                ("filename", Value::from(file_name)),
                ("content_base64", Value::from("AAEC/w==")),
            ]),
        )
        .expect("creates an absolute path whatever the base");
        assert_eq!(std::fs::read(&file).expect("written"), [0, 1, 2, 255]);
        assert!(still_exists(dir.path(), &v));
        std::fs::write(&file, "edited").expect("edit");
        assert!(!still_exists(dir.path(), &v), "changed content");
        delete(dir.path(), &v).expect("deletes");
        assert!(!file.exists());
        assert!(!still_exists(dir.path(), &v), "gone");
        delete(dir.path(), &v).expect("a file already gone is success");
    }

    #[test]
    fn source_copies_and_the_data_source_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("src.txt"), "copied\n").expect("source");
        let v = create(
            dir.path(),
            &args(&[
                ("filename", Value::from("dst.txt")),
                ("source", Value::from("src.txt")),
            ]),
        )
        .expect("creates");
        let read_back =
            read(dir.path(), &args(&[("filename", Value::from("dst.txt"))])).expect("reads");
        assert_eq!(text(&read_back, "content"), "copied\n");
        assert_eq!(text(&read_back, "content_base64"), "Y29waWVkCg==");
        assert_eq!(read_back.get("id"), v.get("id"));
        let e =
            read(dir.path(), &args(&[("filename", Value::from("missing"))])).expect_err("missing");
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let try_create =
            |pairs: &[(&str, Value)]| create(dir.path(), &args(pairs)).expect_err("refused");
        let e = try_create(&[("filename", Value::from("x"))]);
        assert!(e.contains("one of content"), "{e}");
        let e = try_create(&[
            ("filename", Value::from("x")),
            ("content", Value::from("a")),
            ("content_base64", Value::from("YQ==")),
        ]);
        assert!(e.contains("content and content_base64"), "{e}");
        let e = try_create(&[
            ("filename", Value::from("x")),
            ("content", Value::from("a")),
            ("file_permission", Value::from("rwx")),
        ]);
        assert!(e.contains("file_permission must be"), "{e}");
        let e = try_create(&[
            ("filename", Value::from("x")),
            ("content_base64", Value::from("not base64!")),
        ]);
        assert!(e.contains("content_base64"), "{e}");
        assert!(!dir.path().join("x").exists());
    }
}
