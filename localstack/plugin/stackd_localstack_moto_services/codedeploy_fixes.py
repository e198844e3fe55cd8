"""The CodeDeploy operations moto's backend lacks, answered from its store.

Works around an emulator gap: the moto CodeDeploy backend LocalStack 4.13.1
bundles (served through this plugin's ``codedeploy`` provider) implements
creating and reading applications and deployment groups, but not
``BatchGetDeploymentGroups``, ``UpdateDeploymentGroup``,
``DeleteDeploymentGroup``, ``UpdateApplication`` or ``DeleteApplication``
(each answers 501). The functions here are dispatched for them by the
provider in ``__init__.py``; they change moto's own objects, so moto's
reads see the result. As in AWS, renaming keeps an object's tags under its
new ARN. moto still answers ``alarmConfiguration`` as ``{}`` whatever was
set (not fixed here: stackd's tests set no alarms). ``createTime`` of an
application is an ISO string where the API sends epoch seconds: fixed by the
``stackd_codedeploy_create_time`` start-up hook below.
"""

from localstack.aws.api import CommonServiceException
from localstack.runtime import hooks


def _backend(context):
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[context.account_id][context.region]


def _error(code: str, message: str) -> CommonServiceException:
    return CommonServiceException(code, message, status_code=400, sender_fault=True)


def _application(backend, name: str):
    app = backend.applications.get(name)
    if app is None:
        raise _error(
            "ApplicationDoesNotExistException",
            f"No application found for name: {name}",
        )
    return app


def _arn(backend, resource: str) -> str:
    return f"arn:aws:codedeploy:{backend.region_name}:{backend.account_id}:{resource}"


def _move_tags(backend, old_arn: str, new_arn: str) -> None:
    tags = backend.tagger.list_tags_for_resource(old_arn).get("Tags", [])
    backend.tagger.delete_all_tags_for_resource(old_arn)
    if tags:
        backend.tagger.tag_resource(new_arn, tags)


def batch_get_deployment_groups(context, request):
    """Every named group of the application that exists; a missing one is
    reported in ``errorMessage``, as AWS does."""
    backend = _backend(context)
    name = request.get("applicationName")
    _application(backend, name)
    groups = backend.deployment_groups.get(name, {})
    found, missing = [], []
    for group in request.get("deploymentGroupNames") or []:
        if group in groups:
            found.append(groups[group].to_dict())
        else:
            missing.append(group)
    out = {"deploymentGroupsInfo": found}
    if missing:
        out["errorMessage"] = "Deployment groups not found: " + ", ".join(missing)
    return out


# Request member -> DeploymentGroup attribute, for UpdateDeploymentGroup.
_GROUP_FIELDS = {
    "deploymentConfigName": "deployment_config_name",
    "ec2TagFilters": "ec2_tag_filters",
    "onPremisesInstanceTagFilters": "on_premises_instance_tag_filters",
    "autoScalingGroups": "auto_scaling_groups",
    "serviceRoleArn": "service_role_arn",
    "triggerConfigurations": "trigger_configurations",
    "alarmConfiguration": "alarm_configuration",
    "autoRollbackConfiguration": "auto_rollback_configuration",
    "outdatedInstancesStrategy": "outdated_instances_strategy",
    "deploymentStyle": "deployment_style",
    "blueGreenDeploymentConfiguration": "blue_green_deployment_configuration",
    "loadBalancerInfo": "load_balancer_info",
    "ec2TagSet": "ec2_tag_set",
    "ecsServices": "ecs_services",
    "onPremisesTagSet": "on_premises_tag_set",
    "terminationHookEnabled": "termination_hook_enabled",
}


def update_deployment_group(context, request):
    backend = _backend(context)
    app = request.get("applicationName")
    current = request.get("currentDeploymentGroupName")
    _application(backend, app)
    groups = backend.deployment_groups.get(app, {})
    group = groups.get(current)
    if group is None:
        raise _error(
            "DeploymentGroupDoesNotExistException",
            f"No Deployment Group found for name: {current}",
        )
    for member, attr in _GROUP_FIELDS.items():
        if member in request and request[member] is not None:
            setattr(group, attr, request[member])
    new_name = request.get("newDeploymentGroupName")
    if new_name and new_name != current:
        if new_name in groups:
            raise _error(
                "DeploymentGroupAlreadyExistsException",
                f"Deployment group {new_name} already exists.",
            )
        del groups[current]
        group.deployment_group_name = new_name
        groups[new_name] = group
        _move_tags(
            backend,
            _arn(backend, f"deploymentgroup:{app}/{current}"),
            _arn(backend, f"deploymentgroup:{app}/{new_name}"),
        )
    return {"hooksNotCleanedUp": []}


def delete_deployment_group(context, request):
    """Deleting a group that does not exist succeeds, as in AWS."""
    backend = _backend(context)
    app = request.get("applicationName")
    name = request.get("deploymentGroupName")
    _application(backend, app)
    if backend.deployment_groups.get(app, {}).pop(name, None) is not None:
        backend.tagger.delete_all_tags_for_resource(
            _arn(backend, f"deploymentgroup:{app}/{name}")
        )
    return {"hooksNotCleanedUp": []}


def update_application(context, request):
    backend = _backend(context)
    name = request.get("applicationName")
    new_name = request.get("newApplicationName")
    app = _application(backend, name)
    if new_name and new_name != name:
        if new_name in backend.applications:
            raise _error(
                "ApplicationAlreadyExistsException",
                f"The application {new_name} already exists with the user or AWS account.",
            )
        del backend.applications[name]
        app.application_name = new_name
        backend.applications[new_name] = app
        if name in backend.deployment_groups:
            backend.deployment_groups[new_name] = backend.deployment_groups.pop(name)
        _move_tags(
            backend,
            _arn(backend, f"application:{name}"),
            _arn(backend, f"application:{new_name}"),
        )
    return {}


def delete_application(context, request):
    """Deletes the application and its deployment groups; an application
    that does not exist is success, as in AWS."""
    backend = _backend(context)
    name = request.get("applicationName")
    if backend.applications.pop(name, None) is not None:
        for group in backend.deployment_groups.pop(name, {}):
            backend.tagger.delete_all_tags_for_resource(
                _arn(backend, f"deploymentgroup:{name}/{group}")
            )
        backend.tagger.delete_all_tags_for_resource(_arn(backend, f"application:{name}"))
    return {}


@hooks.on_infra_start()
def stackd_codedeploy_create_time() -> None:
    """moto answers an application's ``createTime`` as an ISO 8601 string;
    the API (JSON 1.1) sends epoch seconds, and SDKs that parse by the
    model (the Rust SDK) reject the string. Sent as a number here."""
    from datetime import datetime

    from moto.codedeploy.models import Application

    to_dict = Application.to_dict
    if getattr(to_dict, "_stackd_wrapped", False):
        return

    def to_dict_with_epoch(self):
        out = to_dict(self)
        created = out.get("createTime")
        if isinstance(created, str):
            try:
                out["createTime"] = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
            except ValueError:
                out.pop("createTime")
        return out

    to_dict_with_epoch._stackd_wrapped = True
    Application.to_dict = to_dict_with_epoch
