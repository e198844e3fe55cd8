"""Makes moto's VPC endpoints and network ACLs answer as AWS's do where
stackd relies on it.

Works around emulator quirks of the moto EC2 backend LocalStack 4.13.1
bundles:

- ``DescribeVpcEndpoints`` knows no filter but tags: ``vpc-endpoint-id``
  (what every refresh by known IDs sends, since ``VpcEndpointIds=`` fails
  the whole call when one ID is gone), ``vpc-id``, ``service-name``,
  ``vpc-endpoint-type`` and ``vpc-endpoint-state`` answer 500
  ``InternalFailure`` "has not been implemented in Moto yet".
- ``DescribeNetworkAcls`` knows no ``network-acl-id`` filter (same 500).
- ``ModifyVpcEndpoint`` (LocalStack's own handler) adding a route table to
  a Gateway endpoint does not add the endpoint's prefix-list route to it, as
  AWS does (and removing one does not remove it), and ignores
  ``ResetPolicy``; ``DeleteVpcEndpoints`` then tries to delete that route
  from every table and fails with ``InvalidRoute.NotFound``.
- LocalStack's ``DescribeVpcEndpoints`` drops ``Version`` from every
  policy document (a comment there calls it AWS parity; AWS answers the
  document as it was put, and the Terraform provider compares it so), so a
  spec's policy would differ on every read. The stored document is
  answered as it is.

Registered as an ``on_infra_start`` hook that wraps the backend's methods.
"""

import functools
import json
import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_ec2_network_fixes() -> None:
    from moto.ec2.models.network_acls import NetworkAcl
    from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint

    if getattr(VPCEndPoint, "_stackd_wrapped", False):
        return
    VPCEndPoint._stackd_wrapped = True

    endpoint_filter = VPCEndPoint.get_filter_value

    def endpoint_get_filter_value(self, filter_name, method_name=None):
        if filter_name == "vpc-endpoint-id":
            return self.id
        if filter_name == "vpc-id":
            return self.vpc_id
        if filter_name == "service-name":
            return self.service_name
        if filter_name == "vpc-endpoint-type":
            return (self.vpc_endpoint_type or "Gateway").lower()
        if filter_name == "vpc-endpoint-state":
            return self.state
        return endpoint_filter(self, filter_name, "DescribeVpcEndpoints")

    VPCEndPoint.get_filter_value = endpoint_get_filter_value

    acl_filter = NetworkAcl.get_filter_value

    def acl_get_filter_value(self, filter_name, method_name=None):
        if filter_name == "network-acl-id":
            return self.id
        return acl_filter(self, filter_name, method_name)

    NetworkAcl.get_filter_value = acl_get_filter_value

    from localstack.services.ec2.provider import Ec2Provider

    modify = Ec2Provider.modify_vpc_endpoint

    @functools.wraps(modify)
    def modify_vpc_endpoint(self, context, vpc_endpoint_id, *args, **kwargs):
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[context.account_id][context.region]
        endpoint = backend.vpc_end_points.get(vpc_endpoint_id)
        before = list(endpoint.route_table_ids) if endpoint else []
        result = modify(self, context, vpc_endpoint_id, *args, **kwargs)
        if kwargs.get("reset_policy") and endpoint is not None:
            endpoint.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)
        prefix_list = getattr(endpoint, "destination_prefix_list_id", None)
        if not prefix_list:
            return result
        for table in kwargs.get("add_route_table_ids") or []:
            if table not in before:
                backend.create_route(
                    table,
                    None,
                    gateway_id=endpoint.id,
                    destination_prefix_list_id=prefix_list,
                )
        for table in kwargs.get("remove_route_table_ids") or []:
            if table in before:
                try:
                    backend.delete_route(table, None, destination_prefix_list_id=prefix_list)
                except Exception:  # noqa: BLE001 - a route already gone is fine
                    pass
        return result

    Ec2Provider.modify_vpc_endpoint = modify_vpc_endpoint

    describe = Ec2Provider.describe_vpc_endpoints

    @functools.wraps(describe)
    def describe_vpc_endpoints(self, context, request, *args, **kwargs):
        from moto.ec2.models import ec2_backends

        result = describe(self, context, request, *args, **kwargs)
        backend = ec2_backends[context.account_id][context.region]
        for answered in result.get("VpcEndpoints") or []:
            endpoint = backend.vpc_end_points.get(answered.get("VpcEndpointId"))
            if endpoint is not None and endpoint.policy_document:
                answered["PolicyDocument"] = endpoint.policy_document
        return result

    Ec2Provider.describe_vpc_endpoints = describe_vpc_endpoints

    def delete_vpc_endpoints(self, vpce_ids=None):
        # moto's own, except that a table whose endpoint route is already
        # gone does not fail the delete (AWS deletes what is there).
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if endpoint is None:
                continue
            if (endpoint.vpc_endpoint_type or "").lower() == "interface":
                for eni_id in endpoint.network_interface_ids:
                    self.enis.pop(eni_id, None)
            else:
                for table in endpoint.route_table_ids:
                    try:
                        self.delete_route(
                            table, endpoint.destination_prefix_list_id
                        )
                    except Exception:  # noqa: BLE001 - already gone is fine
                        pass
            endpoint.state = "deleted"

    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints
    LOG.debug("stackd: VPC endpoint and network ACL filters added")
