"""Makes moto's RDS subnet and parameter groups behave as AWS's do.

Works around three emulator quirks of the moto RDS backend LocalStack 4.13.1
bundles (served through this plugin's ``rds`` provider):

- ``CreateDBSubnetGroup`` with the name of an existing group silently
  replaces it (its subnets, description and tags) instead of answering
  ``DBSubnetGroupAlreadyExists`` as AWS does: a create retried after a lost
  answer, or a name another stack uses, would go unnoticed.
- ``ModifyDBSubnetGroup`` takes the group out of the backend's store and
  never puts it back: the group answers ``DBSubnetGroupNotFoundFault`` to
  every later call after a change in place.
- ``ResetDBParameterGroup`` is not implemented (501): ``reset`` below is
  dispatched for it by the ``rds`` provider in ``__init__.py``.

Registered as an ``on_infra_start`` hook that wraps the backend's
``create_subnet_group`` and replaces ``modify_db_subnet_group``.
"""

import logging

from localstack.aws.api import CommonServiceException
from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


def reset_db_parameter_group(context, request):
    """ResetDBParameterGroup: the named parameters (or all of them) back to
    the engine's defaults, i.e. no longer set by the user."""
    from moto.rds.models import rds_backends

    backend = rds_backends[context.account_id][context.region]
    name = request.get("DBParameterGroupName")
    group = backend.db_parameter_groups.get(name)
    if group is None:
        raise CommonServiceException(
            "DBParameterGroupNotFound",
            f"DBParameterGroup not found: {name}",
            status_code=404,
            sender_fault=True,
        )
    if request.get("ResetAllParameters"):
        group.parameters.clear()
    else:
        for parameter in request.get("Parameters") or []:
            group.parameters.pop(parameter.get("ParameterName"), None)
    return {"DBParameterGroupName": name}


@hooks.on_infra_start()
def stackd_rds_subnet_groups() -> None:
    from moto.rds.exceptions import DBSubnetGroupNotFoundError, RDSClientError
    from moto.rds.models import RDSBackend

    create = RDSBackend.create_subnet_group
    if getattr(create, "_stackd_wrapped", False):
        return

    def create_subnet_group(self, subnet_name, description, subnets, tags):
        if subnet_name in self.subnet_groups:
            raise RDSClientError(
                "DBSubnetGroupAlreadyExists",
                f"The DB subnet group '{subnet_name}' already exists.",
            )
        return create(self, subnet_name, description, subnets, tags)

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        subnet_group = self.subnet_groups.get(subnet_name)
        if subnet_group is None:
            raise DBSubnetGroupNotFoundError(subnet_name)
        if subnets:
            subnet_group.subnets = subnets
        if description is not None:
            subnet_group.description = description
        return subnet_group

    create_subnet_group._stackd_wrapped = True
    RDSBackend.create_subnet_group = create_subnet_group
    RDSBackend.modify_db_subnet_group = modify_db_subnet_group
    LOG.info("stackd rds fixes: subnet groups refuse duplicates and survive changes")
