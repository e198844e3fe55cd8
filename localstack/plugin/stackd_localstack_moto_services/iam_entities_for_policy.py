"""Makes ``ListEntitiesForPolicy`` look at every role and user, as AWS does.

Works around an emulator quirk of the moto backend LocalStack 4.13.1 serves
IAM from: ``ListEntitiesForPolicy`` finds the roles and users a policy is
attached to by listing them with ``MaxItems`` (100 when the request has
none) and looking only at that first page. Once the account holds more
than 100 roles (after a benchmark of a large stack, say), a policy
attached to a later role reads back as attached to nobody, and
``aws_iam_policy_attachment``'s create waits for it until its timeout.

Registered as an ``on_infra_start`` hook that answers the request's own
``MaxItems`` when given and otherwise lets the listing see everything.
"""

import functools

from localstack.runtime import hooks

EVERY_ITEM = 10**9


@hooks.on_infra_start()
def stackd_iam_entities_for_policy() -> None:
    from moto.iam.responses import IamResponse

    original = IamResponse.list_entities_for_policy
    if getattr(original, "_stackd_wrapped", False):
        return

    @functools.wraps(original)
    def list_entities_for_policy(self):
        get = self._get_param

        def _get_param(name, *args, **kwargs):
            value = get(name, *args, **kwargs)
            if name == "MaxItems" and not value:
                return EVERY_ITEM
            return value

        self._get_param = _get_param
        try:
            return original(self)
        finally:
            del self._get_param

    list_entities_for_policy._stackd_wrapped = True
    IamResponse.list_entities_for_policy = list_entities_for_policy
