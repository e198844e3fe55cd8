"""Reads an EC2 object's tags by its ID instead of scanning every tag.

Works around a cost of the moto backend LocalStack 4.13.1 serves EC2 from:
an object's tags (``TaggedEC2Resource.get_tags``, used for every object an
answer describes and for every ``tag:`` filter) are found by
``describe_tags`` with a ``resource-id`` filter, which matches a regular
expression against every tag of every object in the region. Describing
N objects in an account of T tags costs N x T: a refresh of a stack's 166
security groups spent two thirds of its time there. AWS answers in time
independent of the account's other objects.

Registered as an ``on_infra_start`` hook that looks the ID up in the tag
backend's map directly, answering the same list (same keys, same order).
"""

from localstack.runtime import hooks


@hooks.on_infra_start()
def stackd_ec2_tag_lookup() -> None:
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

    if getattr(TaggedEC2Resource.get_tags, "_stackd_wrapped", False):
        return

    def get_tags(self) -> list[dict[str, str]]:
        resource_id = getattr(self, "id", None)
        if not resource_id:
            return []
        # .get: the map is a defaultdict, and a read must not add to it.
        tags = self.ec2_backend.tags.get(resource_id)
        if not tags:
            return []
        resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
        return [
            {"resource_id": resource_id, "key": k, "value": v, "resource_type": resource_type}
            for k, v in list(tags.items())
        ]

    get_tags._stackd_wrapped = True
    TaggedEC2Resource.get_tags = get_tags
