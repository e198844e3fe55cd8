"""Lets LocalStack's KMS repoint an alias at a key given by ARN.

Works around an emulator quirk of LocalStack 4.13.1's KMS provider:
``UpdateAlias`` stores ``TargetKeyId`` exactly as the request gives it. Given
a key ARN (which AWS accepts, and Terraform's ``aws_kms_alias`` passes when
``target_key_id = aws_kms_key.x.arn``), ``ListAliases`` then answers the ARN
where AWS answers the key ID, and ``DescribeKey`` of the alias fails with
``NotFoundException``. ``CreateAlias`` already resolves the key to its ID.

Registered as an ``on_infra_start`` hook that wraps the provider's
``update_alias`` to resolve ``TargetKeyId`` to the key's ID first, as
``create_alias`` does.
"""

import functools

from localstack.runtime import hooks


@hooks.on_infra_start()
def stackd_kms_alias_target() -> None:
    from localstack.services.kms.provider import KmsProvider

    update = KmsProvider.update_alias
    if getattr(update, "_stackd_wrapped", False):
        return

    @functools.wraps(update)
    def update_alias(self, context, request):
        key = self._get_kms_key(
            context.account_id,
            context.region,
            request["TargetKeyId"],
            enabled_key_allowed=True,
            disabled_key_allowed=True,
        )
        request["TargetKeyId"] = key.metadata.get("KeyId")
        return update(self, context, request)

    update_alias._stackd_wrapped = True
    KmsProvider.update_alias = update_alias
