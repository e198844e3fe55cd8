"""Makes ``PutMetricFilter`` replace a filter of the same name, as AWS does.

Works around an emulator quirk of the moto backend LocalStack 4.13.1 serves
CloudWatch Logs from: ``PutMetricFilter`` with the name of an existing
filter of the log group appends a second filter instead of replacing the
first, so ``DescribeMetricFilters`` answers both, the old one first, and a
changed pattern never reads back.

Registered as an ``on_infra_start`` hook that wraps the backend's
``put_metric_filter`` to delete the group's filter of that name first.
"""

import functools

from localstack.runtime import hooks


@hooks.on_infra_start()
def stackd_logs_metric_filters() -> None:
    from moto.logs.models import LogsBackend

    put = LogsBackend.put_metric_filter
    if getattr(put, "_stackd_wrapped", False):
        return

    @functools.wraps(put)
    def put_metric_filter(self, filter_name, filter_pattern, log_group_name, *args, **kwargs):
        self.filters.delete_filter(filter_name, log_group_name)
        return put(self, filter_name, filter_pattern, log_group_name, *args, **kwargs)

    put_metric_filter._stackd_wrapped = True
    LogsBackend.put_metric_filter = put_metric_filter
