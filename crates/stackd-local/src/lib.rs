//! The local provider: resource types that exist only in stackd's state
//! (or on the machine running stackd), not in any cloud. `null_resource`
//! carries `triggers` (any change replaces it) and the provisioners
//! attached to it, as in Terraform; the random provider's types and
//! `terraform_data` are in [`random`], the template provider's
//! `template_file` in [`template`], the tls provider's `tls_private_key` in
//! [`tls`], the time provider's types in [`time`] and the local provider's
//! files in [`file`]. Each module holds its schemas, its operations and
//! their tests; this one routes the provider calls to them.

pub mod file;
pub mod random;
pub mod template;
pub mod time;
pub mod tls;

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, CheckedChange, DataRequest, DeleteRequest, ErrorKind, Finding,
    LiveResource, Provider, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema};
use stackd_spec::{SchemaSet, Value};

/// Serves `null_resource`, `terraform_data`, `random_*`, `template_file`,
/// `tls_private_key`, `time_*` and `local_*file`.
pub struct LocalProvider {
    schemas: SchemaSet,
    /// What relative file paths are read against.
    dir: PathBuf,
}

impl Default for LocalProvider {
    /// Relative paths are read against the working directory, as Terraform
    /// reads them.
    fn default() -> Self {
        LocalProvider::in_dir(".")
    }
}

impl LocalProvider {
    /// A provider that reads relative file paths (`local_file`'s
    /// `filename` and `source`) against `dir`: the root module's directory,
    /// where Terraform would run, as `file()` reads them.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        LocalProvider {
            schemas: Self::schema_set(),
            dir: dir.into(),
        }
    }

    /// The schemas, without constructing a provider.
    pub fn schema_set() -> SchemaSet {
        let mut all = vec![ResourceSchema::resource("null_resource")
            .attr(
                AttrSchema::optional("triggers", AttrType::map_of(AttrType::String))
                    .force_new()
                    .doc("Any change to these values replaces the resource, running its provisioners again."),
            )
            .doc("A resource that does nothing but run its provisioners; replaced when its triggers change.")];
        all.extend(random::schemas());
        all.extend(template::schemas());
        all.extend(tls::schemas());
        all.extend(time::schemas());
        all.extend(file::schemas());
        SchemaSet::new(all)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }
}

fn failed(operation: &str) -> impl Fn(String) -> ProviderError + '_ {
    move |why| ProviderError::new(ErrorKind::Permanent, "local", operation, why)
}

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[async_trait]
impl Provider for LocalProvider {
    fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }

    /// Objects exist as recorded (state is their only home), but for a
    /// local file that is gone or was changed and a `time_rotating` past its
    /// rotation time: those are absent, and the plan makes them again.
    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError> {
        Ok(req
            .known
            .iter()
            .filter(|k| {
                if file::serves(&req.type_name) {
                    file::still_exists(self.dir(), &k.attrs)
                } else {
                    time::still_exists(&req.type_name, &k.attrs)
                }
            })
            .map(|k| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: k.attrs.clone(),
            })
            .collect())
    }

    async fn read_data(&self, req: &DataRequest) -> Result<Value, ProviderError> {
        let result = if template::serves(&req.type_name) {
            template::read(self.dir(), &req.args)
        } else if file::serves(&req.type_name) {
            file::read(self.dir(), &req.args)
        } else {
            Err(format!(
                "the local provider has no data source {}",
                req.type_name
            ))
        };
        result.map_err(failed("read"))
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let t = req.type_name.as_str();
        let result = if random::serves(t) {
            random::create(t, &req.desired)
        } else if tls::serves(t) {
            // Finding RSA primes takes a while (seconds for a large key in a
            // debug build): not on a thread other operations run on.
            let desired = req.desired.clone();
            tokio::task::spawn_blocking(move || tls::create(&desired))
                .await
                .unwrap_or_else(|e| Err(format!("key generation stopped: {e}")))
        } else if time::serves(t) {
            time::create(t, &req.desired, req.timeout).await
        } else if file::serves(t) {
            file::create(self.dir(), &req.desired)
        } else {
            let mut attrs = req.desired.clone();
            if let Value::Map(m) = &mut attrs {
                // Terraform uses a random number; any unique ID will do.
                let id = uuid::Uuid::new_v4().as_u128() % 10u128.pow(19);
                m.insert("id".into(), Value::from(id.to_string()));
            }
            Ok(attrs)
        };
        result.map_err(failed("create"))
    }

    /// `terraform_data.input`, `time_sleep`'s durations and
    /// `time_rotating`'s rotation change in place; every other argument of
    /// these types replaces its object.
    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let t = req.type_name.as_str();
        let result = if time::serves(t) {
            time::update(t, &prior, &req.desired)
        } else {
            random::update(t, &prior, &req.desired)
        };
        result.map_err(failed("update"))
    }

    /// A dry run finds the keys stackd cannot make (an ECDSA key on the
    /// tls provider's default curve, P224) before anything is applied.
    async fn check(&self, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        if req.change != CheckedChange::Create || !tls::serves(&req.type_name) {
            return Ok(Vec::new());
        }
        Ok(req
            .desired
            .as_ref()
            .and_then(tls::refusal)
            .map(|why| Finding::error("unsupported", "tls:GenerateKey", why))
            .into_iter()
            .collect())
    }

    /// Removes a local file; `time_sleep` waits its `destroy_duration`.
    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        let t = req.type_name.as_str();
        let result = if file::serves(t) {
            file::delete(self.dir(), &req.prior)
        } else {
            time::delete(t, &req.prior, req.timeout).await
        };
        result.map_err(failed("delete"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stackd_engine::provider::KnownResource;
    use stackd_spec::schema::Presence;
    use stackd_spec::Mode;

    use super::*;

    fn change(type_name: &str, desired: Value, prior: Option<Value>) -> ChangeRequest {
        ChangeRequest {
            address: format!("{type_name}.x").parse().expect("address"),
            type_name: type_name.into(),
            owner: Default::default(),
            desired,
            prior,
            id: None,
            changed: vec![],
            timeout: Duration::from_secs(60),
            idempotency_token: String::new(),
            pending_since: None,
        }
    }

    async fn refresh_of(p: &LocalProvider, type_name: &str, attrs: &Value) -> Vec<LiveResource> {
        let req = RefreshRequest {
            type_name: type_name.into(),
            owner: Default::default(),
            known: vec![KnownResource {
                address: format!("{type_name}.x").parse().expect("address"),
                id: attrs
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .into(),
                attrs: attrs.clone(),
            }],
        };
        p.refresh(&req).await.expect("refreshes")
    }

    #[tokio::test]
    async fn create_assigns_an_id_and_keeps_the_triggers() {
        let p = LocalProvider::default();
        let req = change(
            "null_resource",
            Value::map([("triggers", Value::map([("ip", Value::from("1.2.3.4"))]))]),
            None,
        );
        let v = p.create(&req).await.unwrap();
        assert!(v
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty()));
        assert_eq!(
            v.get("triggers").and_then(|t| t.get("ip")),
            Some(&Value::from("1.2.3.4"))
        );
    }

    #[test]
    fn every_type_has_docs_and_one_schema_per_mode() {
        let set = LocalProvider::schema_set();
        let mut seen = std::collections::BTreeSet::new();
        for s in &set.schemas {
            assert!(!s.doc.is_empty(), "{} has no doc", s.type_name);
            assert!(seen.insert((s.mode, s.type_name)), "{} twice", s.type_name);
        }
        for (mode, name) in [
            (Mode::Data, "template_file"),
            (Mode::Managed, "tls_private_key"),
            (Mode::Managed, "time_static"),
            (Mode::Managed, "time_sleep"),
            (Mode::Managed, "time_rotating"),
            (Mode::Managed, "local_file"),
            (Mode::Managed, "local_sensitive_file"),
            (Mode::Data, "local_file"),
            (Mode::Data, "local_sensitive_file"),
        ] {
            assert!(set.get(mode, name).is_some(), "{name}");
        }
    }

    /// Secrets are marked sensitive, so plans and outputs hide them; public
    /// parts are not, so `aws_key_pair` can show what it imports.
    #[test]
    fn secrets_are_sensitive_and_public_parts_are_not() {
        let set = LocalProvider::schema_set();
        let sensitive = |mode, t: &str, a: &str| {
            set.get(mode, t)
                .and_then(|s| s.find_attr(a))
                .unwrap_or_else(|| panic!("{t}.{a}"))
                .sensitive
        };
        for a in [
            "private_key_pem",
            "private_key_openssh",
            "private_key_pem_pkcs8",
        ] {
            assert!(sensitive(Mode::Managed, "tls_private_key", a), "{a}");
        }
        for a in [
            "public_key_pem",
            "public_key_openssh",
            "public_key_fingerprint_sha256",
            "id",
        ] {
            assert!(!sensitive(Mode::Managed, "tls_private_key", a), "{a}");
        }
        assert!(sensitive(Mode::Managed, "local_file", "sensitive_content"));
        assert!(!sensitive(Mode::Managed, "local_file", "content"));
        assert!(sensitive(Mode::Managed, "local_sensitive_file", "content"));
        assert!(sensitive(Mode::Data, "local_sensitive_file", "content"));
        assert!(!sensitive(Mode::Data, "template_file", "rendered"));
        // Every argument of these types replaces its object but the few
        // that change in place.
        let in_place = [
            ("time_sleep", "create_duration"),
            ("time_sleep", "destroy_duration"),
            ("time_rotating", "rotation_years"),
            ("time_rotating", "rotation_months"),
            ("time_rotating", "rotation_days"),
            ("time_rotating", "rotation_hours"),
            ("time_rotating", "rotation_minutes"),
            ("time_rotating", "rotation_rfc3339"),
        ];
        for t in [
            "tls_private_key",
            "time_static",
            "time_sleep",
            "time_rotating",
            "local_file",
            "local_sensitive_file",
        ] {
            let schema = set.get(Mode::Managed, t).expect(t);
            for a in schema
                .body
                .attrs
                .iter()
                .filter(|a| a.presence != Presence::Computed)
            {
                assert_eq!(
                    a.force_new,
                    !in_place.contains(&(t, a.name)),
                    "{t}.{}",
                    a.name
                );
            }
        }
    }

    #[tokio::test]
    async fn a_local_file_is_written_refreshed_and_removed_through_the_provider() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = LocalProvider::in_dir(dir.path());
        let desired = Value::map([
            ("filename", Value::from("notes/a.txt")),
            ("content", Value::from("one")),
            ("file_permission", Value::from("0644")),
            ("directory_permission", Value::from("0755")),
        ]);
        let attrs = p
            .create(&change("local_file", desired, None))
            .await
            .expect("creates");
        let path = dir.path().join("notes/a.txt");
        assert_eq!(std::fs::read_to_string(&path).expect("written"), "one");
        let found = refresh_of(&p, "local_file", &attrs).await;
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].attrs, attrs,
            "refresh gives back what create recorded"
        );
        std::fs::write(&path, "two").expect("edit");
        let found = refresh_of(&p, "local_file", &attrs).await;
        assert!(
            found.is_empty(),
            "an edited file is gone, to be written again"
        );
        let req = DeleteRequest {
            address: "local_file.x".parse().expect("address"),
            type_name: "local_file".into(),
            id: "-".into(),
            prior: attrs,
            timeout: Duration::from_secs(60),
        };
        p.delete(&req).await.expect("deletes");
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn data_sources_are_read_and_errors_are_permanent() {
        let p = LocalProvider::default();
        let read = |type_name: &str, args: Value| DataRequest {
            address: format!("data.{type_name}.x").parse().expect("address"),
            type_name: type_name.into(),
            args,
        };
        let v = p
            .read_data(&read(
                "template_file",
                Value::map([
                    ("template", Value::from("port=${port}")),
                    ("vars", Value::map([("port", Value::from("80"))])),
                ]),
            ))
            .await
            .expect("renders");
        assert_eq!(v.get("rendered"), Some(&Value::from("port=80")));
        let e = p
            .read_data(&read(
                "local_file",
                Value::map([("filename", Value::from("/nonexistent/x"))]),
            ))
            .await
            .expect_err("missing file");
        assert_eq!(e.kind, ErrorKind::Permanent);
        assert!(e.message.contains("/nonexistent/x"), "{e}");
    }

    #[tokio::test]
    async fn a_bad_algorithm_fails_the_create_and_says_what_to_write() {
        let p = LocalProvider::default();
        let e = p
            .create(&change(
                "tls_private_key",
                Value::map([("algorithm", Value::from("DSA"))]),
                None,
            ))
            .await
            .expect_err("no DSA");
        assert_eq!(e.kind, ErrorKind::Permanent);
        assert!(
            e.to_string().contains("algorithm \"DSA\" is not supported"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn only_the_in_place_arguments_update() {
        let p = LocalProvider::default();
        let prior = Value::map([
            ("id", Value::from("2024-01-01T00:00:00Z")),
            ("create_duration", Value::from("1s")),
        ]);
        let v = p
            .update(&change(
                "time_sleep",
                Value::map([("create_duration", Value::from("2s"))]),
                Some(prior.clone()),
            ))
            .await
            .expect("updates");
        assert_eq!(v.get("id"), prior.get("id"));
        let e = p
            .update(&change(
                "tls_private_key",
                Value::map::<&str>([]),
                Some(prior),
            ))
            .await
            .expect_err("replaced, never updated");
        assert!(e.message.contains("never updated"), "{e}");
    }
}
