"""An in-memory CodeStar Connections service (``codestar-connections``).

Works around an emulator gap: neither community LocalStack nor its bundled
moto serves CodeStar Connections at all, so stackd's
``aws_codestarconnections_connection`` had no emulator to run against. This
module answers the operations that type calls (and ``GetConnection``), from a
store per account and region, with the shapes and errors of the API
reference: a new connection is ``PENDING`` (in AWS it stays so until someone
completes the handshake in the console), names need not be unique, a
missing ARN is ``ResourceNotFoundException``, ``ListConnections`` pages by
``MaxResults``. Requests and answers are parsed and serialised by
LocalStack from the real service spec, so a wrongly shaped call from the SDK
still fails here as it would in AWS. Nothing of the AWS-side GitHub handshake
is imitated.
"""

import uuid

from localstack.aws.api import CommonServiceException
from localstack.services.stores import AccountRegionBundle, BaseStore, LocalAttribute


class ConnectionsStore(BaseStore):
    # ARN -> the Connection shape (without tags).
    connections: dict = LocalAttribute(default=dict)
    # ARN -> {key: value}.
    tags: dict = LocalAttribute(default=dict)


stores = AccountRegionBundle("codestar-connections", ConnectionsStore)


def _store(context) -> ConnectionsStore:
    return stores[context.account_id][context.region]


def _not_found(arn: str) -> CommonServiceException:
    return CommonServiceException(
        "ResourceNotFoundException",
        f"Resource not found: {arn}",
        status_code=400,
        sender_fault=True,
    )


def _invalid(message: str) -> CommonServiceException:
    return CommonServiceException(
        "InvalidInputException", message, status_code=400, sender_fault=True
    )


def create_connection(context, request):
    store = _store(context)
    provider, host = request.get("ProviderType"), request.get("HostArn")
    if not provider and not host:
        raise _invalid("Either ProviderType or HostArn must be provided")
    arn = (
        f"arn:aws:codestar-connections:{context.region}:{context.account_id}"
        f":connection/{uuid.uuid4()}"
    )
    connection = {
        "ConnectionName": request["ConnectionName"],
        "ConnectionArn": arn,
        "ProviderType": provider or "GitHubEnterpriseServer",
        "OwnerAccountId": context.account_id,
        "ConnectionStatus": "PENDING",
    }
    if host:
        connection["HostArn"] = host
    store.connections[arn] = connection
    tags = request.get("Tags") or []
    store.tags[arn] = {t["Key"]: t["Value"] for t in tags}
    out = {"ConnectionArn": arn}
    if tags:
        out["Tags"] = tags
    return out


def get_connection(context, request):
    arn = request["ConnectionArn"]
    connection = _store(context).connections.get(arn)
    if connection is None:
        raise _not_found(arn)
    return {"Connection": dict(connection)}


def list_connections(context, request):
    provider, host = request.get("ProviderTypeFilter"), request.get("HostArnFilter")
    found = [
        dict(c)
        for c in _store(context).connections.values()
        if (not provider or c["ProviderType"] == provider)
        and (not host or c.get("HostArn") == host)
    ]
    start = int(request.get("NextToken") or 0)
    size = request.get("MaxResults") or 50
    out = {"Connections": found[start : start + size]}
    if start + size < len(found):
        out["NextToken"] = str(start + size)
    return out


def delete_connection(context, request):
    store = _store(context)
    arn = request["ConnectionArn"]
    if store.connections.pop(arn, None) is None:
        raise _not_found(arn)
    store.tags.pop(arn, None)
    return {}


def _tags_of(context, arn: str) -> dict:
    store = _store(context)
    if arn not in store.connections:
        raise _not_found(arn)
    return store.tags.setdefault(arn, {})


def list_tags_for_resource(context, request):
    tags = _tags_of(context, request["ResourceArn"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


def tag_resource(context, request):
    tags = _tags_of(context, request["ResourceArn"])
    tags.update({t["Key"]: t["Value"] for t in request.get("Tags") or []})
    return {}


def untag_resource(context, request):
    tags = _tags_of(context, request["ResourceArn"])
    for key in request.get("TagKeys") or []:
        tags.pop(key, None)
    return {}


DISPATCH = {
    "CreateConnection": create_connection,
    "GetConnection": get_connection,
    "ListConnections": list_connections,
    "DeleteConnection": delete_connection,
    "ListTagsForResource": list_tags_for_resource,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
