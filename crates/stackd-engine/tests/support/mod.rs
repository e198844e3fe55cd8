//! An in-memory fake cloud implementing the provider trait, and a harness
//! that plans and applies a spec against it. No network.

#![allow(dead_code, clippy::result_large_err)]

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stackd_engine::apply::{apply, ApplyInput, ApplyOutcome, Silent};
use stackd_engine::instance::StackSettings;
use stackd_engine::plan::{plan, Plan, PlanError, PlanInput, PlanMode};
use stackd_engine::provider::*;
use stackd_engine::state::{LocalBackend, State, StateBackend};
use stackd_spec::config::Config;
use stackd_spec::schema::{AttrSchema as A, AttrType as T, ResourceSchema};
use stackd_spec::{SchemaSet, Value};

/// A cloud that keeps objects in memory and records every call.
pub struct FakeCloud {
    schemas: SchemaSet,
    pub objects: Mutex<BTreeMap<String, (String, Value)>>,
    next_id: AtomicU64,
    pub calls: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub delay: Duration,
    /// Addresses whose create fails with a permanent error.
    pub fail_create: Mutex<HashSet<String>>,
    /// Addresses whose delete fails with DependencyViolation this many times first.
    pub transient_delete_failures: Mutex<BTreeMap<String, u32>>,
    /// Answer refreshes with every object, as a cloud that ignores tag filters would.
    pub ignore_tag_filter: std::sync::atomic::AtomicBool,
    /// Types whose objects take this long to become usable after their
    /// create call: the create waits for it (without holding an apply
    /// slot, as a provider polling the cloud does), and the provider
    /// models the type's changes as taking that long.
    pub slow_types: Mutex<std::collections::HashMap<String, Duration>>,
    /// Types whose create reports the object usable (its `id`, not its
    /// `arn`) right after making it, then works this long more.
    pub usable_early: Mutex<std::collections::HashMap<String, Duration>>,
    /// Addresses whose create fails after reporting the object usable.
    pub fail_after_usable: Mutex<HashSet<String>>,
}

pub fn schemas() -> SchemaSet {
    SchemaSet::new(vec![
        ResourceSchema::resource("test_net")
            .attr(A::required("cidr", T::String).force_new())
            .attr(A::optional("name", T::String))
            .attr(A::computed("arn", T::String))
            .taggable(),
        ResourceSchema::resource("test_revision")
            .attr(A::required("body", T::String).force_new())
            .attr(A::computed("arn", T::String))
            .replace_creates_first(),
        ResourceSchema::resource("test_node")
            .attr(A::required("net_id", T::String).force_new())
            .attr(A::optional("size", T::Number).default(1))
            .taggable(),
        ResourceSchema::data("test_lookup")
            .attr(A::required("name", T::String))
            .attr(A::computed("found", T::String)),
    ])
}

impl FakeCloud {
    pub fn new(delay: Duration) -> Arc<FakeCloud> {
        Arc::new(FakeCloud {
            schemas: schemas(),
            objects: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            delay,
            fail_create: Mutex::new(HashSet::new()),
            transient_delete_failures: Mutex::new(BTreeMap::new()),
            ignore_tag_filter: std::sync::atomic::AtomicBool::new(false),
            slow_types: Mutex::new(std::collections::HashMap::new()),
            usable_early: Mutex::new(std::collections::HashMap::new()),
            fail_after_usable: Mutex::new(HashSet::new()),
        })
    }

    fn call(&self, what: String) {
        self.calls.lock().unwrap().push(what);
    }

    pub fn calls_matching(&self, prefix: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn ids_of_type(&self, t: &str) -> Vec<String> {
        self.objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, (ty, _))| ty == t)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Changes an object behind stackd's back.
    pub fn tamper(&self, id: &str, key: &str, v: Value) {
        if let Some((_, Value::Map(m))) = self.objects.lock().unwrap().get_mut(id) {
            m.insert(key.into(), v);
        }
    }

    async fn busy<T>(&self, f: impl FnOnce() -> T) -> T {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        let r = f();
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        r
    }
}

fn tag<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("tags_all")
        .and_then(|t| t.get(key))
        .and_then(Value::as_str)
}

#[async_trait]
impl Provider for FakeCloud {
    fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }

    /// A net named "taken" exists elsewhere; a net whose name is still
    /// unknown cannot be checked; a node of size 13 cannot be read.
    async fn check(&self, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        self.call(format!("check {}", req.address));
        let arg = |k: &str| req.desired.as_ref().and_then(|d| d.get(k)).cloned();
        match (req.type_name.as_str(), req.change) {
            ("test_net", CheckedChange::Create) => Ok(match arg("name") {
                Some(Value::String(n)) if n == "taken" => vec![Finding::error(
                    "name_taken",
                    "fake:GetNet",
                    "net \"taken\" already exists and is not this stack's",
                )],
                _ => Vec::new(),
            }),
            ("test_node", CheckedChange::Create) if arg("size") == Some(Value::from(13)) => Err(
                ProviderError::new(ErrorKind::Permanent, "fake", "GetNode", "access denied")
                    .with_code("AccessDenied"),
            ),
            _ => Ok(Vec::new()),
        }
    }

    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError> {
        self.call(format!("refresh {}", req.type_name));
        let known: HashSet<&str> = req.known.iter().map(|k| k.id.as_str()).collect();
        let objects = self.objects.lock().unwrap();
        let everything = self.ignore_tag_filter.load(Ordering::SeqCst);
        Ok(objects
            .iter()
            .filter(|(_, (t, v))| {
                let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
                t == &req.type_name
                    && (everything || known.contains(id) || req.owner.owns(|k| tag(v, k)))
            })
            .map(|(_, (_, v))| LiveResource {
                id: v
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                address: tag(v, ADDRESS_TAG).and_then(|a| a.parse().ok()),
                attrs: v.clone(),
            })
            .collect())
    }

    /// Data sources answer `found = "<name>!"` and are recorded as reads.
    async fn read_data(&self, req: &DataRequest) -> Result<Value, ProviderError> {
        self.call(format!("read {}", req.address));
        let name = req.args.get("name").and_then(Value::as_str).unwrap_or("");
        Ok(Value::map([("found", Value::from(format!("{name}!")))]))
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        self.call(format!("create {}", req.address));
        if self
            .fail_create
            .lock()
            .unwrap()
            .contains(&req.address.to_string())
        {
            return self
                .busy(|| {
                    Err(
                        ProviderError::new(ErrorKind::Permanent, "fake", "Create", "refused")
                            .with_code("Refused"),
                    )
                })
                .await;
        }
        // Objects are kept under a unique key, their `arn`. Revisions share
        // their `id`, as ECS task definitions share their family.
        let key = format!(
            "{}-{}",
            req.type_name,
            self.next_id.fetch_add(1, Ordering::SeqCst)
        );
        let id = if req.type_name == "test_revision" {
            "revision".to_string()
        } else {
            key.clone()
        };
        let mut attrs = req.desired.clone();
        if let Value::Map(m) = &mut attrs {
            m.insert("id".into(), Value::from(id.as_str()));
            if req.type_name != "test_node" {
                m.insert("arn".into(), Value::from(format!("arn:fake:{key}")));
            }
        }
        let stored = attrs.clone();
        self.busy(|| {
            self.objects
                .lock()
                .unwrap()
                .insert(key.clone(), (req.type_name.clone(), stored));
        })
        .await;
        let slow = self.slow_types.lock().unwrap().get(&req.type_name).copied();
        if let Some(wait) = slow {
            stackd_engine::provider::idle(tokio::time::sleep(wait)).await;
        }
        let more = self
            .usable_early
            .lock()
            .unwrap()
            .get(&req.type_name)
            .copied();
        if let Some(more) = more {
            // A test_revision referring to it waits for the whole create.
            stackd_engine::provider::usable(
                Value::map([("id", Value::from(id.as_str()))]),
                &["test_revision"],
            );
            tokio::time::sleep(more).await;
            let address = req.address.to_string();
            if self.fail_after_usable.lock().unwrap().contains(&address) {
                self.call(format!("failed {address}"));
                return Err(ProviderError::new(
                    ErrorKind::Permanent,
                    "fake",
                    "Configure",
                    format!("refused (after creating {id}, which is left in place)"),
                ));
            }
            self.call(format!("finished {address}"));
        }
        Ok(attrs)
    }

    fn modelled_duration(&self, type_name: &str, _change: CheckedChange) -> Duration {
        self.slow_types
            .lock()
            .unwrap()
            .get(type_name)
            .copied()
            .unwrap_or(stackd_engine::provider::TYPICAL_CHANGE)
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        self.call(format!("update {}", req.address));
        let id = req.id.clone().unwrap_or_default();
        self.busy(|| {
            let mut objects = self.objects.lock().unwrap();
            let (_, v) = objects
                .get_mut(&id)
                .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, "fake", "Update", "gone"))?;
            if let (Value::Map(m), Value::Map(d)) = (v, &req.desired) {
                for (k, x) in d {
                    m.insert(k.clone(), x.clone());
                }
            }
            Ok(objects[&id].1.clone())
        })
        .await
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        self.call(format!("delete {}", req.address));
        {
            let mut failures = self.transient_delete_failures.lock().unwrap();
            if let Some(n) = failures.get_mut(&req.address.to_string()) {
                if *n > 0 {
                    *n -= 1;
                    return Err(ProviderError::new(
                        ErrorKind::Transient,
                        "fake",
                        "Delete",
                        "in use",
                    )
                    .with_code("DependencyViolation"));
                }
            }
        }
        // Delete by the recorded ARN where there is one (IDs may be shared).
        let key = req
            .prior
            .get("arn")
            .and_then(Value::as_str)
            .and_then(|a| a.strip_prefix("arn:fake:"))
            .unwrap_or(&req.id)
            .to_string();
        self.busy(|| {
            self.objects.lock().unwrap().remove(&key);
        })
        .await;
        Ok(())
    }
}

/// A spec directory, its state backend and the stack settings.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub backend: LocalBackend,
    pub settings: StackSettings,
}

impl Harness {
    pub fn new(src: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut h = Harness {
            backend: LocalBackend::new(dir.path().join("stackd.state.json")),
            config: Config::default(),
            settings: StackSettings {
                stack: "test".into(),
                explicit_stack: false,
                default_tags: BTreeMap::new(),
            },
            dir,
        };
        h.set_spec(src);
        h
    }

    pub fn set_spec(&mut self, src: &str) {
        let (config, diags) = Config::from_sources(
            self.dir.path(),
            vec![(self.dir.path().join("main.tf"), src.to_string())],
        );
        assert!(diags.is_empty(), "{diags:?}");
        let errs = stackd_spec::validate::validate(&config, &schemas(), &BTreeMap::new());
        assert!(errs.is_empty(), "{errs:?}");
        self.config = config;
    }

    /// A spec tree: `(relative path, text)` files written under the
    /// harness directory (a root and its modules), read as the CLI reads it.
    pub fn set_tree(&mut self, files: &[(&str, &str)]) {
        for (path, text) in files {
            let full = self.dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let (config, diags) = Config::load_dir(self.dir.path()).unwrap();
        assert!(diags.is_empty(), "{diags:?}");
        let errs = stackd_spec::validate::validate(&config, &schemas(), &BTreeMap::new());
        assert!(errs.is_empty(), "{errs:?}");
        self.config = config;
    }

    pub async fn state(&self) -> State {
        self.backend
            .load()
            .await
            .unwrap()
            .unwrap_or_else(|| State::new("test"))
    }

    pub async fn plan(&self, cloud: &Arc<FakeCloud>, mode: PlanMode) -> Result<Plan, PlanError> {
        self.plan_for(&self.state().await, cloud, mode).await
    }

    /// Plans against `state` (a fresh state has a new identity each time it
    /// is made: plan and apply must share one).
    pub async fn plan_for(
        &self,
        state: &State,
        cloud: &Arc<FakeCloud>,
        mode: PlanMode,
    ) -> Result<Plan, PlanError> {
        let vars = BTreeMap::new();
        let input = PlanInput {
            config: &self.config,
            vars: &vars,
            state,
            provider: cloud.clone(),
            settings: &self.settings,
            mode,
            refresh: true,
        };
        plan(&input).await
    }

    pub async fn apply_with(
        &self,
        cloud: &Arc<FakeCloud>,
        mode: PlanMode,
        parallelism: usize,
        cancel: tokio::sync::watch::Receiver<bool>,
    ) -> (Plan, ApplyOutcome) {
        let mut state = self.state().await;
        let plan = match self.plan_for(&state, cloud, mode).await {
            Ok(p) => p,
            Err(PlanError::Spec(d)) => panic!("plan failed: {d:?}"),
            Err(PlanError::Provider { error, .. }) => panic!("plan failed: {error}"),
        };
        let vars = BTreeMap::new();
        let outcome = apply(
            &plan,
            &mut state,
            ApplyInput {
                config: &self.config,
                vars: &vars,
                settings: &self.settings,
                provider: cloud.clone(),
                backend: &self.backend,
                parallelism,
                reporter: &Silent,
                cancel,
            },
        )
        .await
        .expect("apply runs");
        (plan, outcome)
    }

    pub async fn apply(&self, cloud: &Arc<FakeCloud>, mode: PlanMode) -> (Plan, ApplyOutcome) {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        self.apply_with(cloud, mode, 10, rx).await
    }
}

pub fn dir_of(h: &Harness) -> &Path {
    h.dir.path()
}
