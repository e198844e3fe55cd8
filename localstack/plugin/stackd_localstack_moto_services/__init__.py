"""LocalStack service providers that serve paid-tier APIs from moto.

Works around an emulator limitation: community LocalStack (localstack-core,
no auth token) answers every call to ecs, elbv2, ecr, codebuild and
codepipeline with "not included in your current license plan", and serves no
application-autoscaling, rds, autoscaling, servicediscovery, cloudtrail or codedeploy at
all, because it registers no provider for them. Two services neither serves
(codestar-connections, ecr-public) and the webhooks moto lacks are answered
in memory by this package (``codestar_connections.py``, ``ecr_public.py``,
``webhooks.py``), for the operations stackd calls. Its bundled moto fork (moto-ext) implements them all, so each provider
here is a Skeleton whose dispatch table sends every operation of the
service's spec to ``_proxy_moto`` (but the few moto lacks, answered by this
package: see ``rds_fixes.py`` and ``codedeploy_fixes.py``), the same
fall-through LocalStack's own moto-backed providers (ec2, iam, ...) use for
operations they do not override. Nothing else changes: the request parsing,
routing, account/region handling and health reporting are LocalStack's.

With a LocalStack auth token (the Docker image with a paid plan) this package
is not installed and LocalStack's own providers serve these services.
"""

from localstack.aws.skeleton import DispatchTable, Skeleton
from localstack.aws.spec import load_service
from localstack.services.moto import _proxy_moto
from localstack.services.plugins import Service, aws_provider


def _in_memory_service(api: str, dispatch_table: DispatchTable) -> Service:
    """A Service neither LocalStack nor moto serves, answered by this package
    for the operations in `dispatch_table` (any other is 501)."""
    return Service(name=api, skeleton=Skeleton(load_service(api), dispatch_table))


def _moto_backed_service(api: str, overrides: DispatchTable | None = None) -> Service:
    """A Service whose every operation is handled by moto's backend for `api`,
    but those in `overrides`, handled by the given functions."""
    spec = load_service(api)
    dispatch_table: DispatchTable = {operation: _proxy_moto for operation in spec.operation_names}
    dispatch_table.update(overrides or {})
    return Service(name=api, skeleton=Skeleton(spec, dispatch_table))


@aws_provider(api="ecs")
def ecs() -> Service:
    return _moto_backed_service("ecs")


@aws_provider(api="elbv2")
def elbv2() -> Service:
    return _moto_backed_service("elbv2")


@aws_provider(api="ecr")
def ecr() -> Service:
    return _moto_backed_service("ecr")


@aws_provider(api="codebuild")
def codebuild() -> Service:
    # moto has projects but no webhooks: answered by webhooks.py.
    from .webhooks import CODEBUILD

    return _moto_backed_service("codebuild", CODEBUILD)


@aws_provider(api="codepipeline")
def codepipeline() -> Service:
    # moto has pipelines but no webhooks: answered by webhooks.py.
    from .webhooks import CODEPIPELINE

    return _moto_backed_service("codepipeline", CODEPIPELINE)


@aws_provider(api="application-autoscaling")
def application_autoscaling() -> Service:
    # moto implements targets, policies and scheduled actions, but no
    # tagging (TagResource/ListTagsForResource) for this service.
    return _moto_backed_service("application-autoscaling")


@aws_provider(api="rds")
def rds() -> Service:
    # Community LocalStack registers no rds provider; moto implements DB
    # instances, subnet groups and parameter groups (no engine runs: an
    # instance is "available" at once).
    # ResetDBParameterGroup is missing from moto: answered by rds_fixes.
    from .rds_fixes import reset_db_parameter_group

    return _moto_backed_service(
        "rds", {"ResetDBParameterGroup": reset_db_parameter_group}
    )


@aws_provider(api="autoscaling")
def autoscaling() -> Service:
    # Community LocalStack registers no autoscaling (EC2 Auto Scaling)
    # provider; moto implements groups, launch-template references, tags and
    # scaling policies. Its groups start moto "instances" at once (no VM
    # runs): they are InService straight away.
    return _moto_backed_service("autoscaling")


@aws_provider(api="cloudtrail")
def cloudtrail() -> Service:
    # Community LocalStack registers no cloudtrail provider; moto implements
    # trails, their status and tags. Its bucket check is pointed at
    # LocalStack's S3 by cloudtrail_fixes.py.
    return _moto_backed_service("cloudtrail")


@aws_provider(api="servicediscovery")
def servicediscovery() -> Service:
    # Community LocalStack registers no servicediscovery (Cloud Map)
    # provider; moto implements namespaces (a private DNS namespace makes a
    # Route 53 hosted zone in moto's route53 backend, which LocalStack's
    # route53 serves), services, instances, operations (SUCCESS at once)
    # and tags.
    return _moto_backed_service("servicediscovery")


@aws_provider(api="codedeploy")
def codedeploy() -> Service:
    # Community LocalStack registers no codedeploy provider; moto implements
    # applications and deployment groups (create, get, list, tags) but not
    # their updates, deletes or BatchGetDeploymentGroups: answered by
    # codedeploy_fixes.
    from . import codedeploy_fixes as fixes

    return _moto_backed_service(
        "codedeploy",
        {
            "BatchGetDeploymentGroups": fixes.batch_get_deployment_groups,
            "UpdateDeploymentGroup": fixes.update_deployment_group,
            "DeleteDeploymentGroup": fixes.delete_deployment_group,
            "UpdateApplication": fixes.update_application,
            "DeleteApplication": fixes.delete_application,
        },
    )


@aws_provider(api="codestar-connections")
def codestar_connections() -> Service:
    # Neither community LocalStack nor moto serves CodeStar Connections:
    # answered in memory by codestar_connections.py.
    from .codestar_connections import DISPATCH

    return _in_memory_service("codestar-connections", DISPATCH)


@aws_provider(api="ecr-public")
def ecr_public() -> Service:
    # Neither community LocalStack nor moto serves ECR Public: repositories
    # answered in memory by ecr_public.py.
    from .ecr_public import DISPATCH

    return _in_memory_service("ecr-public", DISPATCH)
