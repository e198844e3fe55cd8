"""An in-memory ECR Public service (``ecr-public``), repositories only.

Works around an emulator gap: neither community LocalStack nor its bundled
moto serves ECR Public, so stackd's ``aws_ecrpublic_repository`` had no
emulator to run against. This module answers the repository, catalog data
and tag operations that type calls, from a store per account, with the
shapes and errors of the API reference: names are unique
(``RepositoryAlreadyExistsException``), a missing repository is
``RepositoryNotFoundException``, ``PutRepositoryCatalogData`` replaces the
whole catalog, a logo blob is answered as a URL. No images are stored, so
``force`` never matters. Requests and answers are parsed and serialised by
LocalStack from the real service spec. ECR Public is global in AWS (its API
lives in us-east-1 and its ARNs carry no region), so the store is kept per
account, whatever region the client names.
"""

import hashlib
from datetime import datetime, timezone

from localstack.aws.api import CommonServiceException
from localstack.services.stores import (
    AccountRegionBundle,
    BaseStore,
    CrossRegionAttribute,
)


class RepositoryStore(BaseStore):
    # name -> {"repository": Repository shape, "catalog": ..., "tags": {...}}
    repositories: dict = CrossRegionAttribute(default=dict)


stores = AccountRegionBundle("ecr-public", RepositoryStore)


def _store(context) -> RepositoryStore:
    return stores[context.account_id][context.region]


def _error(code: str, message: str) -> CommonServiceException:
    return CommonServiceException(code, message, status_code=400, sender_fault=True)


def _repository(context, name: str) -> dict:
    found = _store(context).repositories.get(name)
    if found is None:
        raise _error(
            "RepositoryNotFoundException",
            f"The repository with name '{name}' does not exist in the registry "
            f"with id '{context.account_id}'",
        )
    return found


def _by_arn(context, arn: str) -> dict:
    for entry in _store(context).repositories.values():
        if entry["repository"]["repositoryArn"] == arn:
            return entry
    raise _error("RepositoryNotFoundException", f"No repository with ARN '{arn}'")


def _catalog(given: dict | None, name: str) -> dict:
    """The catalog data as read back from the catalog data given."""
    given = given or {}
    out = {
        key: given[key]
        for key in ("description", "architectures", "operatingSystems", "aboutText", "usageText")
        if given.get(key)
    }
    if given.get("logoImageBlob"):
        digest = hashlib.sha256(given["logoImageBlob"]).hexdigest()[:16]
        out["logoUrl"] = f"https://d2c5ce1e7e1cb.cloudfront.net/logo/{name}/{digest}.png"
    out["marketplaceCertified"] = False
    return out


def create_repository(context, request):
    store = _store(context)
    name = request["repositoryName"]
    if name in store.repositories:
        raise _error(
            "RepositoryAlreadyExistsException",
            f"The repository with name '{name}' already exists in the registry "
            f"with id '{context.account_id}'",
        )
    repository = {
        "repositoryArn": f"arn:aws:ecr-public::{context.account_id}:repository/{name}",
        "registryId": context.account_id,
        "repositoryName": name,
        "repositoryUri": f"public.ecr.aws/stackd{context.account_id[-6:]}/{name}",
        "createdAt": datetime.now(timezone.utc),
    }
    catalog = _catalog(request.get("catalogData"), name)
    store.repositories[name] = {
        "repository": repository,
        "catalog": catalog,
        "tags": {t["Key"]: t.get("Value", "") for t in request.get("tags") or []},
    }
    return {"repository": dict(repository), "catalogData": dict(catalog)}


def describe_repositories(context, request):
    names = request.get("repositoryNames")
    if names:
        found = [_repository(context, n)["repository"] for n in names]
    else:
        found = [e["repository"] for e in _store(context).repositories.values()]
    start = int(request.get("nextToken") or 0)
    size = request.get("maxResults") or 100
    out = {"repositories": [dict(r) for r in found[start : start + size]]}
    if start + size < len(found):
        out["nextToken"] = str(start + size)
    return out


def delete_repository(context, request):
    name = request["repositoryName"]
    entry = _repository(context, name)
    del _store(context).repositories[name]
    return {"repository": dict(entry["repository"])}


def get_repository_catalog_data(context, request):
    return {"catalogData": dict(_repository(context, request["repositoryName"])["catalog"])}


def put_repository_catalog_data(context, request):
    name = request["repositoryName"]
    entry = _repository(context, name)
    entry["catalog"] = _catalog(request.get("catalogData"), name)
    return {"catalogData": dict(entry["catalog"])}


def list_tags_for_resource(context, request):
    tags = _by_arn(context, request["resourceArn"])["tags"]
    return {"tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


def tag_resource(context, request):
    tags = _by_arn(context, request["resourceArn"])["tags"]
    tags.update({t["Key"]: t.get("Value", "") for t in request.get("tags") or []})
    return {}


def untag_resource(context, request):
    tags = _by_arn(context, request["resourceArn"])["tags"]
    for key in request.get("tagKeys") or []:
        tags.pop(key, None)
    return {}


DISPATCH = {
    "CreateRepository": create_repository,
    "DescribeRepositories": describe_repositories,
    "DeleteRepository": delete_repository,
    "GetRepositoryCatalogData": get_repository_catalog_data,
    "PutRepositoryCatalogData": put_repository_catalog_data,
    "ListTagsForResource": list_tags_for_resource,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
