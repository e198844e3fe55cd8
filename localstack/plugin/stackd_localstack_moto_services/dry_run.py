"""Answers EC2 requests sent with ``DryRun=true`` as AWS does.

Works around an emulator quirk: LocalStack 4.13.1 ignores ``DryRun`` on some
EC2 operations; ``CreateVpc`` with ``DryRun=true`` creates a VPC. AWS never
changes anything for a dry run: it answers ``DryRunOperation`` (HTTP 412)
when the caller would be allowed, ``UnauthorizedOperation`` when not.
LocalStack enforces no IAM, so every dry run here is one that would be
allowed, and this handler answers ``DryRunOperation`` before the request
reaches LocalStack's EC2 provider or moto. Validation moto would have done
for a dry run (an unknown AMI in ``RunInstances``) is lost; stackd looks such
references up with Describe calls anyway.

Registered as an ``on_infra_start`` hook that appends a request handler to
LocalStack's custom service request handlers, which run after the request is
parsed and before it is routed to the service.
"""

from localstack.aws import handlers
from localstack.aws.api import CommonServiceException, RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response
from localstack.runtime import hooks


class DryRunOperation(CommonServiceException):
    def __init__(self) -> None:
        super().__init__(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
            status_code=412,
            sender_fault=True,
        )


def answer_ec2_dry_runs(chain: HandlerChain, context: RequestContext, response: Response) -> None:
    if context.service is None or context.service.service_name != "ec2":
        return
    request = context.service_request
    if request and request.get("DryRun"):
        raise DryRunOperation()


@hooks.on_infra_start()
def stackd_ec2_dry_run() -> None:
    handlers.serve_custom_service_request_handlers.append(answer_ec2_dry_runs)
