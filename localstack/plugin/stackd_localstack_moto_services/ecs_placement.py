"""Keeps an ECS service's placement strategy and constraints from its create.

Works around an emulator gap: moto's ``CreateService`` (served through this
plugin's ``ecs`` provider) drops ``placementStrategy`` and
``placementConstraints``, so ``DescribeServices`` never answers them and a
service created with ``ordered_placement_strategy`` would differ from its
spec forever. moto's ``UpdateService`` already stores every parameter it is
given, and its answers serialise a service's attributes by name, so this
hook only sets the two attributes on the service a create made.

Registered as an ``on_infra_start`` hook.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_ecs_placement():
    try:
        from moto.ecs.responses import EC2ContainerServiceResponse
    except ImportError as e:  # pragma: no cover - other LocalStack versions
        LOG.warning("stackd: ECS placement not patched: %s", e)
        return

    create_service = EC2ContainerServiceResponse.create_service

    def create_service_keeping_placement(self):
        answer = create_service(self)
        service = answer.result["service"]
        service.placement_strategy = self._get_param("placementStrategy") or []
        service.placement_constraints = self._get_param("placementConstraints") or []
        return answer

    EC2ContainerServiceResponse.create_service = create_service_keeping_placement
