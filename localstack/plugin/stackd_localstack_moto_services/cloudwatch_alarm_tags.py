"""Handles CloudWatch alarm tags as AWS does.

Works around two emulator quirks of LocalStack 4.13.1's CloudWatch provider:

- ``PutMetricAlarm`` keeps the request's ``Tags`` inside the stored alarm
  instead of tagging it: ``ListTagsForResource`` then finds no tags. AWS
  tags an alarm with them when the call creates it (and ignores them when it
  updates one).
- ``DescribeAlarms`` returns that ``Tags`` member, which ``MetricAlarm`` does
  not have. The query protocol's serializer drops it with a warning, but the
  Smithy RPC v2 CBOR serializer, which the AWS SDKs now use for CloudWatch,
  fails the whole answer with ``InternalError`` (500).

Registered as an ``on_infra_start`` hook that wraps the provider's
``put_metric_alarm`` (tag a new alarm in the provider's tag store, keep
``Tags`` out of the stored alarm) and ``describe_alarms`` (leave ``Tags``
out of older alarms).
"""

import functools

from localstack.runtime import hooks


def _without_tags(alarm: dict) -> dict:
    return {k: v for k, v in alarm.items() if k != "Tags"}


@hooks.on_infra_start()
def stackd_cloudwatch_alarm_tags() -> None:
    from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider

    put = CloudwatchProvider.put_metric_alarm
    if getattr(put, "_stackd_wrapped", False):
        return

    @functools.wraps(put)
    def put_metric_alarm(self, context, request):
        tags = request.get("Tags")
        store = self.get_store(context.account_id, context.region)
        existed = {a.alarm.get("AlarmName") for a in store.alarms.values()}
        request = {k: v for k, v in request.items() if k != "Tags"}
        out = put(self, context, request)
        if tags and request.get("AlarmName") not in existed:
            for alarm in store.alarms.values():
                if alarm.alarm.get("AlarmName") == request.get("AlarmName"):
                    store.TAGS.tag_resource(alarm.alarm["AlarmArn"], tags)
        return out

    put_metric_alarm._stackd_wrapped = True
    CloudwatchProvider.put_metric_alarm = put_metric_alarm

    describe = CloudwatchProvider.describe_alarms

    @functools.wraps(describe)
    def describe_alarms(self, context, *args, **kwargs):
        out = describe(self, context, *args, **kwargs)
        for key in ("MetricAlarms", "CompositeAlarms"):
            if out.get(key):
                out[key] = [_without_tags(a) for a in out[key]]
        return out

    CloudwatchProvider.describe_alarms = describe_alarms
