//! The local provider: resource types that exist only in stackd's state,
//! not in any cloud. `null_resource` carries `triggers` (any change
//! replaces it) and the provisioners attached to it, as in Terraform; the
//! random provider's types and `terraform_data` are in [`random`].

pub mod random;

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DataRequest, DeleteRequest, ErrorKind, LiveResource, Provider, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema};
use stackd_spec::{SchemaSet, Value};

/// Serves `null_resource`, `terraform_data` and `random_*`.
pub struct LocalProvider {
    schemas: SchemaSet,
}

impl Default for LocalProvider {
    fn default() -> Self {
        LocalProvider {
            schemas: Self::schema_set(),
        }
    }
}

impl LocalProvider {
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
        SchemaSet::new(all)
    }
}

fn unsupported(operation: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        "local",
        operation,
        "not supported by the local provider",
    )
}

#[async_trait]
impl Provider for LocalProvider {
    fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }

    /// A null resource exists exactly as recorded: state is its only home.
    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError> {
        Ok(req
            .known
            .iter()
            .map(|k| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: k.attrs.clone(),
            })
            .collect())
    }

    async fn read_data(&self, _req: &DataRequest) -> Result<Value, ProviderError> {
        Err(unsupported("read"))
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        if random::serves(&req.type_name) {
            return random::create(&req.type_name, &req.desired)
                .map_err(|why| ProviderError::new(ErrorKind::Permanent, "local", "create", why));
        }
        let mut attrs = req.desired.clone();
        if let Value::Map(m) = &mut attrs {
            // Terraform uses a random number; any unique ID will do.
            let id = uuid::Uuid::new_v4().as_u128() % 10u128.pow(19);
            m.insert("id".into(), Value::from(id.to_string()));
        }
        Ok(attrs)
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument of the other types forces replacement.
        let prior = req.prior.clone().unwrap_or(Value::Null);
        random::update(&req.type_name, &prior, &req.desired)
            .map_err(|why| ProviderError::new(ErrorKind::Permanent, "local", "update", why))
    }

    async fn delete(&self, _req: &DeleteRequest) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_assigns_an_id_and_keeps_the_triggers() {
        let p = LocalProvider::default();
        let req = ChangeRequest {
            address: "null_resource.x".parse().unwrap(),
            type_name: "null_resource".into(),
            owner: Default::default(),
            desired: Value::map([("triggers", Value::map([("ip", Value::from("1.2.3.4"))]))]),
            prior: None,
            id: None,
            changed: vec![],
            timeout: std::time::Duration::from_secs(1),
            idempotency_token: String::new(),
            pending_since: None,
        };
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
}
