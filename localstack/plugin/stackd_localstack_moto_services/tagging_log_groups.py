"""Makes the Resource Groups Tagging API see log groups as CloudWatch Logs does.

Works around two emulator gaps:

- AWS names CloudWatch Logs log groups ``logs:log-group`` in
  ``GetResources``' ``ResourceTypeFilters``, but moto matches only
  ``logs:loggroup``, so a filter written as AWS documents it finds no log
  group at all (and stackd falls back to one ``ListTagsForResource`` per
  group). The documented name is translated before moto's backend sees it.
- LocalStack's own Logs provider keeps a group's tags (from
  ``CreateLogGroup``, ``TagResource``, ``UntagResource``) in its store, while
  moto's tagging backend asks moto's Logs backend, which saw only the
  create's: a tag added or removed later never showed in ``GetResources``.
  moto's Logs backend is made to answer tags from LocalStack's store.

Registered as an ``on_infra_start`` hook.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_tagging_log_groups():
    try:
        from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend
    except ImportError as e:  # pragma: no cover - other LocalStack versions
        LOG.warning("stackd: tagging log group filter not patched: %s", e)
        return

    get_resources = ResourceGroupsTaggingAPIBackend.get_resources

    def get_resources_with_aws_type_names(self, *args, **kwargs):
        filters = kwargs.get("resource_type_filters")
        if filters:
            kwargs["resource_type_filters"] = [
                "logs:loggroup" if f == "logs:log-group" else f for f in filters
            ]
        return get_resources(self, *args, **kwargs)

    ResourceGroupsTaggingAPIBackend.get_resources = get_resources_with_aws_type_names

    try:
        from localstack.services.logs.models import logs_stores
        from moto.logs.models import LogsBackend
    except ImportError as e:  # pragma: no cover - other LocalStack versions
        LOG.warning("stackd: log group tags for tagging not patched: %s", e)
        return

    def list_tags_from_localstack(self, resource_arn):
        store = logs_stores[self.account_id][self.region_name]
        return dict(store.TAGS.get(resource_arn, {}))

    LogsBackend.list_tags_for_resource = list_tags_from_localstack
