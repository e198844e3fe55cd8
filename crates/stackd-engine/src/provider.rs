//! The provider interface: the only way the engine touches a cloud.
//!
//! A provider offers schemas, reads live state in batches per resource type,
//! and creates, updates and deletes one resource at a time. Retry policy is
//! the engine's ([`crate::retry`]); a provider classifies its errors.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use stackd_spec::{Address, SchemaSet, Value};

/// Tag naming the stack that owns a resource (for people: the stack name).
pub const STACK_TAG: &str = "stackd:stack";
/// Tag carrying the identity of the stack that owns a resource: the lineage
/// of its state, fixed at the state's first write (before its first create).
/// Two copies of one spec share a name but never an identity.
pub const STACK_ID_TAG: &str = "stackd:stack-id";
/// Tag naming the resource address within its stack.
pub const ADDRESS_TAG: &str = "stackd:address";

/// Which cloud objects belong to the stack: the test every provider applies
/// before adopting or deleting an object that state does not record.
/// The default (empty identity) owns nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// The stack name, carried in [`STACK_TAG`].
    pub name: String,
    /// The stack identity, carried in [`STACK_ID_TAG`].
    pub id: String,
    /// Recognise objects by [`STACK_TAG`] alone. Only when the user named
    /// the stack explicitly (`--stack`) and no state exists (it was lost):
    /// the plan then says how many objects it adopts.
    pub by_name: bool,
}

impl Owner {
    /// The owner of a stack whose state has identity `id`.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> Owner {
        Owner {
            name: name.into(),
            id: id.into(),
            by_name: false,
        }
    }

    /// True when an object whose tags are looked up by `tag` belongs to the
    /// stack. An empty identity owns nothing.
    pub fn owns<'a>(&self, tag: impl Fn(&str) -> Option<&'a str>) -> bool {
        if self.by_name {
            tag(STACK_TAG) == Some(self.name.as_str())
        } else {
            !self.id.is_empty() && tag(STACK_ID_TAG) == Some(self.id.as_str())
        }
    }

    /// True when an object belongs to the stack and was made for `address`
    /// (its [`ADDRESS_TAG`]): what a create adopts after a lost answer or a
    /// crash.
    pub fn made<'a>(&self, tag: impl Fn(&str) -> Option<&'a str>, address: &Address) -> bool {
        self.owns(&tag) && tag(ADDRESS_TAG) == Some(address.to_tag_value().as_str())
    }

    /// The tag key and value a server-side filter selects the stack's
    /// objects by (a filter is only a pre-selection: check [`Owner::owns`]
    /// on every answer).
    pub fn filter_tag(&self) -> (&'static str, &str) {
        if self.by_name {
            (STACK_TAG, &self.name)
        } else {
            (STACK_ID_TAG, &self.id)
        }
    }

    /// Why an object whose tags are looked up by `tag` is not the stack's, for
    /// a conflict message; `None` when it is.
    pub fn foreign_reason<'a>(&self, tag: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
        if self.owns(&tag) {
            return None;
        }
        Some(match (tag(STACK_TAG), tag(STACK_ID_TAG)) {
            (Some(name), Some(id)) if name == self.name => format!(
                "it carries this stack's name \"{name}\" but another stack identity ({id}): \
                 another copy of this spec, or this stack's own objects from a state that was lost \
                 (then run with an explicit --stack {name} and no state to adopt them)"
            ),
            (Some(name), _) if name == self.name => format!(
                "it carries this stack's name \"{name}\" but no stack identity tag; \
                 run with an explicit --stack {name} and no state to adopt it"
            ),
            (Some(name), _) => format!("it belongs to stack \"{name}\""),
            (None, _) => "it does not carry stackd's ownership tags".to_string(),
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Reads and changes resources of the types in [`Provider::schemas`].
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Every resource type and data source this provider serves.
    fn schemas(&self) -> &SchemaSet;

    /// Reads the live state of every instance of one resource type that the
    /// stack owns: those in `known` (by ID) and those carrying the stack's
    /// ownership tag. Must cost one paginated Describe/List chain per type,
    /// not a call per resource. Instances that no longer exist are simply
    /// absent from the result.
    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError>;

    /// Reads a data source.
    async fn read_data(&self, req: &DataRequest) -> Result<Value, ProviderError>;

    /// Creates a resource and waits until it is usable; returns its
    /// attributes in schema shape (including `id`).
    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError>;

    /// Updates a resource in place; returns its attributes after the update.
    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError>;

    /// Deletes a resource and waits until it is gone. A resource that is
    /// already gone is success.
    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError>;

    /// Looks for the object an earlier attempt of this create made: its
    /// answer was lost ([`ErrorKind::OutcomeUnknown`]), or stackd stopped
    /// after sending it and the state still holds the pending create. Find
    /// it by what the create put on it (a create token tag) or, for a named
    /// object that cannot be tagged in the same call, by its name and a
    /// creation time after [`ChangeRequest::pending_since`]; never adopt an
    /// object that could be someone else's. Returns its attributes, as
    /// `create` would. The default finds nothing: right for types whose
    /// create is idempotent (a token the API honours, or a unique name
    /// whose "already exists" the create itself recognises as its own).
    async fn find_created(&self, req: &ChangeRequest) -> Result<Option<Value>, ProviderError> {
        let _ = req;
        Ok(None)
    }

    /// Checks one planned change against the cloud without changing
    /// anything (`stackd apply --dry-run`): names that must be unique and
    /// are taken, referenced objects that do not exist, permissions the
    /// change would need (where the API has a dry-run form). Only reads and
    /// dry-run calls are allowed here. The default checks nothing.
    async fn check(&self, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let _ = req;
        Ok(Vec::new())
    }

    /// How long a change of `type_name` typically takes on the real cloud
    /// (a NAT gateway or a load balancer minutes, most objects about a
    /// second): apply starts the chain of steps that is longest by this
    /// model first. The default is [`TYPICAL_CHANGE`].
    fn modelled_duration(&self, type_name: &str, change: CheckedChange) -> Duration {
        let _ = (type_name, change);
        TYPICAL_CHANGE
    }
}

/// What a change of a type whose provider has no better idea is taken to
/// last, for scheduling.
pub const TYPICAL_CHANGE: Duration = Duration::from_secs(1);

tokio::task_local! {
    /// The parallelism slot of the apply step this task runs, if any.
    static SLOT: Slot;
}

/// One of apply's `--parallelism` slots, held by a step while it works.
/// A step that waits for the cloud (a NAT gateway becoming available)
/// gives its slot up for the wait through [`idle`], so the slot serves
/// another step's calls meanwhile: slots are for calls, waiting is cheap.
pub struct Slot {
    semaphore: std::sync::Arc<tokio::sync::Semaphore>,
    permit: std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

impl Slot {
    /// A slot holding `permit` of `semaphore`.
    pub fn new(
        semaphore: std::sync::Arc<tokio::sync::Semaphore>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Slot {
        Slot {
            semaphore,
            permit: std::sync::Mutex::new(Some(permit)),
        }
    }

    /// Runs `fut` (a step) holding this slot, which [`idle`] inside it can
    /// give up and take back.
    pub async fn hold<F: std::future::Future>(self, fut: F) -> F::Output {
        SLOT.scope(self, fut).await
    }
}

/// Awaits `wait` (a pause between polls, a back-off) without holding the
/// calling step's parallelism slot, and takes a slot again before going
/// on. Outside an apply step it just awaits `wait`.
pub async fn idle<F: std::future::Future>(wait: F) -> F::Output {
    let semaphore = SLOT
        .try_with(|slot| {
            let released = slot.permit.lock().unwrap_or_else(|p| p.into_inner()).take();
            released.map(|permit| {
                drop(permit);
                slot.semaphore.clone()
            })
        })
        .ok()
        .flatten();
    let out = wait.await;
    if let Some(semaphore) = semaphore {
        // The semaphore is never closed: an error cannot happen, and
        // without a permit the step would merely run over the limit.
        if let Ok(permit) = semaphore.acquire_owned().await {
            let _ = SLOT.try_with(|slot| {
                *slot.permit.lock().unwrap_or_else(|p| p.into_inner()) = Some(permit);
            });
        }
    }
    out
}

tokio::task_local! {
    /// Where a create step tells apply that its object is usable.
    static USABLE: UsableSink;
}

/// Receives what [`usable`] reports for one create step.
#[allow(clippy::type_complexity)]
pub struct UsableSink(Box<dyn Fn(Value, &'static [&'static str]) + Send + Sync>);

impl UsableSink {
    /// A sink calling `report` with the attributes a create reports usable.
    pub fn new(
        report: impl Fn(Value, &'static [&'static str]) + Send + Sync + 'static,
    ) -> UsableSink {
        UsableSink(Box::new(report))
    }

    /// Runs `fut` (a create step) with [`usable`] reporting to this sink.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        USABLE.scope(self, fut).await
    }
}

/// Tells apply, from inside [`Provider::create`], that the object exists
/// and can be used by the resources that refer to it although the create
/// has calls left to make: calls no dependent's create needs (a security
/// group's rules, read-backs). `attrs` (a map) holds the computed
/// attributes known now, at least `id`, each with its final value (a null
/// stands for one not known yet); the configured arguments are taken from
/// the request. A dependent that
/// refers only to attributes known this way may start at once (unless it
/// has `depends_on`, provisioners or conditions: those wait for the whole
/// create, as do data sources); the rest wait as before. Dependents of the
/// types in `hold` (those that refer to it directly) wait for the whole
/// create too: those the calls left
/// could collide with (a security group's own rule resources, while its
/// default egress rule is still being revoked). What waits in full
/// (`depends_on`, a data source) on a dependent started early waits for
/// this create to finish as well.
///
/// Call it only once the object exists and is visible to other calls, and
/// only from a type whose next create (after a kill) or refresh finds this
/// same object. From then on the create is never sent again nor another
/// object adopted for it: an error leaves the object in place for the next
/// refresh. Outside an apply step, or from a task the provider spawned, it
/// does nothing.
pub fn usable(attrs: Value, hold: &'static [&'static str]) {
    let _ = USABLE.try_with(|sink| (sink.0)(attrs, hold));
}

/// The kind of change a [`CheckRequest`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckedChange {
    Create,
    Update,
    Delete,
}

/// A planned change to check without making it.
#[derive(Clone, Debug)]
pub struct CheckRequest {
    pub address: Address,
    pub type_name: String,
    pub owner: Owner,
    pub change: CheckedChange,
    /// The planned arguments in schema shape (create and update). Unlike in
    /// a [`ChangeRequest`], values known only after apply are
    /// [`Value::Unknown`]: a check that needs one must skip, not guess.
    pub desired: Option<Value>,
    /// The live attributes (update and delete).
    pub prior: Option<Value>,
    /// The resource ID (update and delete).
    pub id: Option<String>,
    /// Everything the same plan creates (or re-creates), so that a check
    /// does not report as missing an object the spec names by a known
    /// value (a role name, a key pair name) that the plan will create.
    pub planned: std::sync::Arc<[PlannedObject]>,
}

/// An object a plan creates, as [`CheckRequest::planned`] lists it.
#[derive(Clone, Debug)]
pub struct PlannedObject {
    pub address: Address,
    pub type_name: String,
    /// Its planned arguments (unknowns where only known after apply).
    pub desired: Value,
}

impl CheckRequest {
    /// True when the plan creates an object of `type_name` whose argument
    /// `attr` is `value`.
    pub fn plans(&self, type_name: &str, attr: &str, value: &str) -> bool {
        self.planned.iter().any(|p| {
            p.type_name == type_name && p.desired.get(attr).and_then(Value::as_str) == Some(value)
        })
    }
}

/// How much a [`Finding`] matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The change would fail: the dry run fails.
    Error,
    /// Worth a reviewer's eye, but the change would go through.
    Warning,
}

/// What a dry-run check found about one planned change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable, machine-readable name for the check, e.g. `name_taken`,
    /// `not_found`, `permission_denied`, `rejected`.
    pub check: String,
    /// The API call that showed it, e.g. `s3:HeadBucket`.
    pub operation: String,
    /// What is wrong, in words that name the object, e.g. `bucket
    /// "assets" already exists and is not this stack's`.
    pub message: String,
}

impl Finding {
    /// A finding that fails the dry run.
    pub fn error(
        check: impl Into<String>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Error,
            check: check.into(),
            operation: operation.into(),
            message: message.into(),
        }
    }

    /// A finding that does not fail the dry run.
    pub fn warning(
        check: impl Into<String>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(check, operation, message)
        }
    }
}

/// What to refresh for one resource type.
#[derive(Clone, Debug)]
pub struct RefreshRequest {
    pub type_name: String,
    /// Whose objects to return.
    pub owner: Owner,
    /// Instances recorded in state.
    pub known: Vec<KnownResource>,
}

/// An instance recorded in state.
#[derive(Clone, Debug)]
pub struct KnownResource {
    pub address: Address,
    pub id: String,
    /// Attributes as last recorded (lets untaggable sub-resources such as
    /// routes be found through their parent).
    pub attrs: Value,
}

/// One live object found by a refresh.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveResource {
    pub id: String,
    /// The address it belongs to: from its [`ADDRESS_TAG`], or from the
    /// known instance it was found for. `None` for an object that carries the
    /// stack tag but no parseable address tag.
    pub address: Option<Address>,
    /// Attributes in schema shape, including `id` and, for taggable types,
    /// `tags_all` (every tag but the cloud's reserved ones).
    pub attrs: Value,
}

/// A data source read.
#[derive(Clone, Debug)]
pub struct DataRequest {
    pub address: Address,
    pub type_name: String,
    /// The evaluated arguments, in schema shape.
    pub args: Value,
}

/// A create or an update.
#[derive(Clone, Debug)]
pub struct ChangeRequest {
    pub address: Address,
    pub type_name: String,
    pub owner: Owner,
    /// The desired arguments in schema shape, wholly known. For taggable
    /// types `tags_all` holds the merged tags to apply (user, default and
    /// ownership tags).
    pub desired: Value,
    /// The live attributes before an update (`None` on create).
    pub prior: Option<Value>,
    /// The resource ID on update.
    pub id: Option<String>,
    /// Top-level attribute and block names that differ (update only).
    pub changed: Vec<String>,
    /// How long the operation may take, waits included.
    pub timeout: Duration,
    /// A token unique to this create attempt, stable across a retry after
    /// a crash. Pass it where the API takes one (EC2 `ClientToken`), and
    /// tag the object with it where tags go in the create call itself, so
    /// that [`Provider::find_created`] can find it.
    pub idempotency_token: String,
    /// On a create, when its pending record was first written (RFC 3339
    /// UTC), before any attempt was sent: an object of this create's name
    /// made earlier than this is not this create's.
    pub pending_since: Option<String>,
}

/// A delete.
#[derive(Clone, Debug)]
pub struct DeleteRequest {
    pub address: Address,
    pub type_name: String,
    pub id: String,
    /// The last known attributes (needed to delete sub-resources).
    pub prior: Value,
    pub timeout: Duration,
}

/// How an error should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object does not exist.
    NotFound,
    /// Request rate exceeded; retry with backoff.
    Throttled,
    /// Eventual consistency or a dependency still being torn down (a new ID
    /// not visible yet, `DependencyViolation`, a role not yet assumable);
    /// retry with backoff until the operation's timeout.
    Transient,
    /// Waited for a state until the timeout ran out.
    Timeout,
    /// No answer came back (connection refused or reset, timeout) even
    /// after the SDK's own retries: the endpoint is unreachable or not
    /// answering. Not retried further; the message names the endpoint.
    Unanswered,
    /// A create's answer was lost after the request may have reached the
    /// cloud: it may or may not have been carried out. Sending it again
    /// could make a second object, so the engine first looks for the object
    /// ([`Provider::find_created`]) and sends it again only if it is not
    /// there.
    OutcomeUnknown,
    /// The request is wrong or not allowed; retrying will not help.
    Permanent,
}

/// An error from a provider call, with what is needed to act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The service, e.g. `ec2`.
    pub service: String,
    /// The API operation, e.g. `CreateVpc`.
    pub operation: String,
    /// The cloud's error code, e.g. `InvalidParameterValue`.
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

impl ProviderError {
    pub fn new(
        kind: ErrorKind,
        service: impl Into<String>,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProviderError {
            kind,
            service: service.into(),
            operation: operation.into(),
            code: None,
            message: message.into(),
            request_id: None,
        }
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.operation)?;
        if let Some(code) = &self.code {
            write!(f, ": {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request ID {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

/// Several providers as one: schemas merged, each call routed to the
/// provider that serves the type.
pub struct ProviderSet {
    providers: Vec<std::sync::Arc<dyn Provider>>,
    schemas: SchemaSet,
}

impl ProviderSet {
    pub fn new(providers: Vec<std::sync::Arc<dyn Provider>>) -> ProviderSet {
        let schemas = SchemaSet::new(
            providers
                .iter()
                .flat_map(|p| p.schemas().schemas.iter().cloned())
                .collect(),
        );
        ProviderSet { providers, schemas }
    }

    fn serving(
        &self,
        mode: stackd_spec::Mode,
        type_name: &str,
    ) -> Result<&dyn Provider, ProviderError> {
        self.providers
            .iter()
            .find(|p| p.schemas().get(mode, type_name).is_some())
            .map(|p| p.as_ref())
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Permanent,
                    "stackd",
                    "route",
                    format!("no provider serves {type_name}"),
                )
            })
    }
}

#[async_trait]
impl Provider for ProviderSet {
    fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }
    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .refresh(req)
            .await
    }
    async fn read_data(&self, req: &DataRequest) -> Result<Value, ProviderError> {
        self.serving(stackd_spec::Mode::Data, &req.type_name)?
            .read_data(req)
            .await
    }
    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .create(req)
            .await
    }
    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .update(req)
            .await
    }
    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .delete(req)
            .await
    }
    async fn check(&self, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .check(req)
            .await
    }
    async fn find_created(&self, req: &ChangeRequest) -> Result<Option<Value>, ProviderError> {
        self.serving(stackd_spec::Mode::Managed, &req.type_name)?
            .find_created(req)
            .await
    }
    fn modelled_duration(&self, type_name: &str, change: CheckedChange) -> Duration {
        self.serving(stackd_spec::Mode::Managed, type_name)
            .map(|p| p.modelled_duration(type_name, change))
            .unwrap_or(TYPICAL_CHANGE)
    }
}
