"""Answers ``GetDashboard`` of a missing dashboard as AWS does.

Works around an emulator quirk of LocalStack 4.13.1's CloudWatch provider:
``GetDashboard`` of a dashboard that does not exist answers
``InvalidParameterValue`` ("Dashboard NAME does not exist."), a bad request,
where AWS answers ``ResourceNotFound`` (404), the code the Terraform
provider and stackd take for "gone".

Registered as an ``on_infra_start`` hook that wraps the provider's
``get_dashboard`` to raise ``ResourceNotFound`` for a missing dashboard.
"""

import functools

from localstack.runtime import hooks


@hooks.on_infra_start()
def stackd_cloudwatch_dashboards() -> None:
    from localstack.aws.api.cloudwatch import ResourceNotFound
    from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider

    get = CloudwatchProvider.get_dashboard
    if getattr(get, "_stackd_wrapped", False):
        return

    @functools.wraps(get)
    def get_dashboard(self, context, dashboard_name, **kwargs):
        store = self.get_store(context.account_id, context.region)
        if dashboard_name not in store.dashboards:
            raise ResourceNotFound(f"Dashboard {dashboard_name} does not exist.")
        return get(self, context, dashboard_name, **kwargs)

    get_dashboard._stackd_wrapped = True
    CloudwatchProvider.get_dashboard = get_dashboard
