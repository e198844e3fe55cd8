"""Imports moto's backend modules at start-up, before any request.

Works around an emulator quirk seen on a loaded 2-core CI machine: LocalStack
imports a service's provider, and moto its backend modules, on the first
request to the service. When the parallel integration tests' first requests
reach a cold LocalStack together, two threads import ``moto.ec2`` at once and
Python's import lock answers "deadlock detected by
_ModuleLock('moto.ec2.models')"; the half-imported module then fails every
later EC2 request (172 of them in one run) until LocalStack restarts.
Importing the modules here, on the main thread before the gateway serves
anything, leaves no import to race over.
"""

import importlib
import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

# moto's backends for the services stackd's tests use (S3 is LocalStack's
# own), and LocalStack's EC2 provider, which imports moto.ec2.
MODULES = [
    "moto.ec2.exceptions",
    "moto.ec2.models",
    "moto.ec2.responses",
    "moto.iam.models",
    "moto.sts.models",
    "moto.ssm.models",
    "moto.logs.models",
    "moto.ecs.models",
    "moto.elbv2.models",
    "moto.ecr.models",
    "moto.codebuild.models",
    "moto.codepipeline.models",
    "moto.rds.models",
    "moto.autoscaling.models",
    "moto.servicediscovery.models",
    "localstack.services.ec2.provider",
]


@hooks.on_infra_start()
def stackd_import_moto_backends() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # a missing module must not stop LocalStack
            LOG.warning("stackd warm-up: cannot import %s: %s", name, e)
    LOG.info("stackd warm-up: imported %d backend modules", len(MODULES))
