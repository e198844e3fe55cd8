"""Makes moto's CloudTrail see the buckets LocalStack's S3 serves.

Works around an emulator quirk: moto's ``CreateTrail`` checks that the
trail's bucket exists in moto's own S3 backend, but LocalStack serves S3
from its native provider, whose buckets moto never sees: every trail would
be refused with ``S3BucketDoesNotExistException``. This hook makes the
check look in LocalStack's S3 store instead (AWS's answer for a missing
bucket is kept).

Registered as an ``on_infra_start`` hook.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_cloudtrail_buckets():
    try:
        from localstack.services.s3.models import s3_stores
        from moto.cloudtrail.exceptions import S3BucketDoesNotExistException
        from moto.cloudtrail.models import Trail
    except ImportError as e:  # pragma: no cover - other LocalStack versions
        LOG.warning("stackd: CloudTrail bucket check not patched: %s", e)
        return

    def check_bucket_exists(self) -> None:
        for regions in dict(s3_stores).values():
            for store in dict(regions).values():
                if self.bucket_name in store.buckets:
                    return
        raise S3BucketDoesNotExistException(
            f"S3 bucket {self.bucket_name} does not exist!"
        )

    Trail.check_bucket_exists = check_bucket_exists
