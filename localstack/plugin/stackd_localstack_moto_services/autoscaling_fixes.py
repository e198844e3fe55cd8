"""Makes moto's Auto Scaling groups and EC2 launch templates behave as
AWS's do where stackd relies on it.

Works around two emulator quirks of the moto backends LocalStack 4.13.1
bundles (autoscaling served through this plugin's provider, ec2 through
LocalStack's own, which falls through to moto for launch templates):

- ``CreateAutoScalingGroup`` with the name of an existing group silently
  replaces it (its sizes, template, tags and instances) instead of answering
  ``AlreadyExists`` as AWS does: a create retried after a lost answer, or a
  name another stack uses, would go unnoticed.
- ``CreateLaunchTemplate`` copies the template's own ``TagSpecifications``
  (resource type ``launch-template``) into the version's
  ``LaunchTemplateData.TagSpecifications``; AWS keeps them apart (the data's
  tag specifications are what instances launched from the template get), so
  a template's tags would show as a change of its ``tag_specifications``.

Registered as an ``on_infra_start`` hook that wraps the backends' methods.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_autoscaling_fixes() -> None:
    from moto.autoscaling.exceptions import AutoscalingClientError
    from moto.autoscaling.models import AutoScalingBackend
    from moto.ec2.models.launch_templates import LaunchTemplateBackend

    create_group = AutoScalingBackend.create_auto_scaling_group
    if getattr(create_group, "_stackd_wrapped", False):
        return

    class AlreadyExists(AutoscalingClientError):
        code = "AlreadyExists"

    def create_auto_scaling_group(self, name, *args, **kwargs):
        if name in self.autoscaling_groups:
            raise AlreadyExists(
                f"AutoScalingGroup by this name already exists - "
                f"A group with the name {name} already exists"
            )
        return create_group(self, name, *args, **kwargs)

    create_template = LaunchTemplateBackend.create_launch_template

    def create_launch_template(self, name, description, template_data, tag_spec):
        # moto's response handler appended the template's own tags to the
        # data; take back what it appended (the request's own data tag
        # specifications, if any, come first and are kept).
        specs = template_data.get("TagSpecifications") or []
        own = {
            (resource_type, tuple(sorted(tags.items())))
            for resource_type, tags in (tag_spec or {}).items()
        }
        kept = [
            s
            for s in specs
            if (
                s.get("ResourceType"),
                tuple(sorted((t["Key"], t["Value"]) for t in s.get("Tags", []))),
            )
            not in own
        ]
        if kept:
            template_data["TagSpecifications"] = kept
        else:
            template_data.pop("TagSpecifications", None)
        return create_template(self, name, description, template_data, tag_spec)

    create_auto_scaling_group._stackd_wrapped = True
    AutoScalingBackend.create_auto_scaling_group = create_auto_scaling_group
    LaunchTemplateBackend.create_launch_template = create_launch_template
    LOG.info(
        "stackd autoscaling fixes: groups refuse duplicate names, "
        "launch template tags stay out of the template data"
    )
