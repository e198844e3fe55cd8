"""CodeBuild and CodePipeline webhooks, which moto's backends lack.

Works around an emulator gap: the moto CodeBuild and CodePipeline backends
LocalStack 4.13.1 bundles (served through this plugin's providers) have
projects and pipelines but no webhooks: ``CreateWebhook``, ``UpdateWebhook``,
``DeleteWebhook`` (CodeBuild) and ``PutWebhook``, ``ListWebhooks``,
``DeleteWebhook``, ``RegisterWebhookWithThirdParty``,
``DeregisterWebhookWithThirdParty`` (CodePipeline) each answer 501. The
functions here answer them with the shapes and errors of the API reference.

A CodeBuild webhook is kept in moto's own project (its ``webhook`` member),
so moto's ``BatchGetProjects`` reads it back and deleting the project drops
it; its secret is answered only by ``CreateWebhook`` and a rotating
``UpdateWebhook``, as in AWS. Nothing is registered with GitHub: AWS would
call the repository's host (and answer ``OAuthProviderException`` without
source credentials); here the hook URL is made up.

CodePipeline webhooks live in a store per account and region; their tags
are answered here, every other ARN's tags by moto. ``PutWebhook`` checks the
target pipeline exists in moto (``PipelineNotFoundException``) and that
``GITHUB_HMAC`` has a secret token, replaces the definition of a webhook of
the same name and keeps its URL, ARN and tags.
"""

import secrets
import time
from datetime import datetime, timezone

from localstack.aws.api import CommonServiceException
from localstack.services.moto import _proxy_moto
from localstack.services.stores import AccountRegionBundle, BaseStore, LocalAttribute


def _error(code: str, message: str) -> CommonServiceException:
    return CommonServiceException(code, message, status_code=400, sender_fault=True)


# ---- CodeBuild -------------------------------------------------------------

# Project name -> the secret of its webhook (never read back by BatchGetProjects).
_codebuild_secrets: dict[tuple[str, str, str], str] = {}


def _project(context, name: str):
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[context.account_id][context.region]
    project = backend.codebuild_projects.get(name)
    if project is None:
        raise _error(
            "ResourceNotFoundException",
            f"Project cannot be found: arn:aws:codebuild:{context.region}:"
            f"{context.account_id}:project/{name}",
        )
    return project


def _answered(webhook: dict, secret: str | None) -> dict:
    """The stored webhook as an operation answers it (timestamps as datetimes)."""
    out = {k: v for k, v in webhook.items() if k != "lastModifiedSecret"}
    out["lastModifiedSecret"] = datetime.fromtimestamp(
        webhook["lastModifiedSecret"], timezone.utc
    )
    if secret is not None:
        out["secret"] = secret
    return out


def create_webhook(context, request):
    name = request["projectName"]
    project = _project(context, name)
    if project.project_metadata.get("webhook"):
        raise _error("ResourceAlreadyExistsException", "Webhook already exists")
    manual = bool(request.get("manualCreation"))
    webhook = {
        # Stored as moto keeps the rest of the project: JSON-ready, epoch
        # seconds for the timestamp.
        "payloadUrl": f"https://codebuild.{context.region}.amazonaws.com/webhooks"
        f"?t={secrets.token_urlsafe(24)}&v=1",
        "filterGroups": request.get("filterGroups") or [],
        "manualCreation": manual,
        "lastModifiedSecret": time.time(),
    }
    if not manual:
        location = (project.project_metadata.get("source") or {}).get("location", "")
        repo = location.rstrip("/").removesuffix(".git").split("github.com/")[-1]
        webhook["url"] = f"https://api.github.com/repos/{repo}/hooks/{secrets.randbelow(10**9)}"
    for key in ("branchFilter", "buildType"):
        if request.get(key):
            webhook[key] = request[key]
    secret = secrets.token_hex(20)
    _codebuild_secrets[(context.account_id, context.region, name)] = secret
    project.project_metadata["webhook"] = webhook
    return {"webhook": _answered(webhook, secret)}


def _webhook(context, name: str) -> dict:
    webhook = _project(context, name).project_metadata.get("webhook")
    if not webhook:
        raise _error("ResourceNotFoundException", f"Webhook not found for project {name}")
    return webhook


def update_webhook(context, request):
    name = request["projectName"]
    webhook = _webhook(context, name)
    if "filterGroups" in request:
        webhook["filterGroups"] = request["filterGroups"] or []
    for key in ("branchFilter", "buildType"):
        if request.get(key):
            webhook[key] = request[key]
        else:
            webhook.pop(key, None)
    secret = None
    if request.get("rotateSecret"):
        secret = secrets.token_hex(20)
        _codebuild_secrets[(context.account_id, context.region, name)] = secret
        webhook["lastModifiedSecret"] = time.time()
    return {"webhook": _answered(webhook, secret)}


def delete_webhook(context, request):
    name = request["projectName"]
    _webhook(context, name)
    del _project(context, name).project_metadata["webhook"]
    _codebuild_secrets.pop((context.account_id, context.region, name), None)
    return {}


CODEBUILD = {
    "CreateWebhook": create_webhook,
    "UpdateWebhook": update_webhook,
    "DeleteWebhook": delete_webhook,
}


# ---- CodePipeline ----------------------------------------------------------


class PipelineWebhookStore(BaseStore):
    # name -> {"definition": ..., "url": ..., "arn": ..., "tags": {...}}
    webhooks: dict = LocalAttribute(default=dict)


pipeline_stores = AccountRegionBundle("codepipeline", PipelineWebhookStore)


def _pipeline_store(context) -> PipelineWebhookStore:
    return pipeline_stores[context.account_id][context.region]


def _item(entry: dict) -> dict:
    out = {"definition": entry["definition"], "url": entry["url"], "arn": entry["arn"]}
    if entry["tags"]:
        out["tags"] = [{"key": k, "value": v} for k, v in sorted(entry["tags"].items())]
    return out


def put_webhook(context, request):
    from moto.codepipeline.models import codepipeline_backends

    definition = request["webhook"]
    pipelines = codepipeline_backends[context.account_id][context.region].pipelines
    if definition["targetPipeline"] not in pipelines:
        raise _error(
            "PipelineNotFoundException",
            f"Pipeline not found: {definition['targetPipeline']}",
        )
    config = definition.get("authenticationConfiguration") or {}
    if definition["authentication"] == "GITHUB_HMAC" and not config.get("SecretToken"):
        raise _error(
            "InvalidWebhookAuthenticationParametersException",
            "SecretToken is required for GITHUB_HMAC authentication",
        )
    if definition["authentication"] == "IP" and not config.get("AllowedIPRange"):
        raise _error(
            "InvalidWebhookAuthenticationParametersException",
            "AllowedIPRange is required for IP authentication",
        )
    store = _pipeline_store(context)
    name = definition["name"]
    entry = store.webhooks.get(name)
    if entry is None:
        entry = {
            "url": f"https://{context.region}.webhooks.aws/trigger"
            f"?t={secrets.token_urlsafe(24)}&v=1",
            "arn": f"arn:aws:codepipeline:{context.region}:{context.account_id}:webhook:{name}",
            "tags": {},
        }
        store.webhooks[name] = entry
    entry["definition"] = definition
    if request.get("tags"):
        entry["tags"] = {t["key"]: t["value"] for t in request["tags"]}
    return {"webhook": _item(entry)}


def list_webhooks(context, request):
    found = [_item(e) for _, e in sorted(_pipeline_store(context).webhooks.items())]
    start = int(request.get("NextToken") or 0)
    size = request.get("MaxResults") or 100
    out = {"webhooks": found[start : start + size]}
    if start + size < len(found):
        out["NextToken"] = str(start + size)
    return out


def delete_pipeline_webhook(context, request):
    # AWS answers success for a name it does not hold.
    _pipeline_store(context).webhooks.pop(request["name"], None)
    return {}


def _pipeline_webhook(context, name: str) -> dict:
    entry = _pipeline_store(context).webhooks.get(name)
    if entry is None:
        raise _error("WebhookNotFoundException", f"Webhook not found: {name}")
    return entry


def register_webhook_with_third_party(context, request):
    _pipeline_webhook(context, request.get("webhookName") or "")
    return {}


def _webhook_tags(context, arn: str) -> dict | None:
    """The tags of the webhook `arn` names, None when it names no webhook."""
    if ":webhook:" not in arn:
        return None
    entry = _pipeline_store(context).webhooks.get(arn.rsplit(":webhook:", 1)[1])
    if entry is None or entry["arn"] != arn:
        raise _error("ResourceNotFoundException", f"Resource not found: {arn}")
    return entry["tags"]


def list_tags_for_resource(context, request):
    tags = _webhook_tags(context, request["resourceArn"])
    if tags is None:
        return _proxy_moto(context, request)
    return {"tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]}


def tag_resource(context, request):
    tags = _webhook_tags(context, request["resourceArn"])
    if tags is None:
        return _proxy_moto(context, request)
    tags.update({t["key"]: t["value"] for t in request.get("tags") or []})
    return {}


def untag_resource(context, request):
    tags = _webhook_tags(context, request["resourceArn"])
    if tags is None:
        return _proxy_moto(context, request)
    for key in request.get("tagKeys") or []:
        tags.pop(key, None)
    return {}


CODEPIPELINE = {
    "PutWebhook": put_webhook,
    "ListWebhooks": list_webhooks,
    "DeleteWebhook": delete_pipeline_webhook,
    "RegisterWebhookWithThirdParty": register_webhook_with_third_party,
    "DeregisterWebhookWithThirdParty": register_webhook_with_third_party,
    "ListTagsForResource": list_tags_for_resource,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
}
