"""Makes LocalStack listen only where ``GATEWAY_LISTEN`` says.

Works around an emulator bug: LocalStack 4.13.1's Twisted runtime server
ignores the host of an IPv4 ``GATEWAY_LISTEN`` entry (its
``TwistedRuntimeServer.register`` builds ``TCP4ServerEndpoint(reactor,
port)`` with no interface, marked "TODO: interface = host?"), so
``localstack/start.sh``'s ``GATEWAY_LISTEN=127.0.0.1:PORT`` still listened
on every interface (0.0.0.0). This hook, run before the gateway server is
registered, gives that module an ``endpoints`` whose IPv4 server endpoint
binds each port to the host configured for it.

Registered as an ``on_infra_start`` hook.
"""

import logging

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def stackd_bind_loopback():
    try:
        import localstack.runtime.server.twisted as server
        from localstack import config
        from twisted.internet import endpoints
    except ImportError as e:  # pragma: no cover - other LocalStack versions
        LOG.warning("stackd: listening address not patched: %s", e)
        return

    hosts = {hp.port: hp.host for hp in config.GATEWAY_LISTEN}

    class _Endpoints:
        """twisted.internet.endpoints, with IPv4 bound to the configured host."""

        TCP6ServerEndpoint = endpoints.TCP6ServerEndpoint

        @staticmethod
        def TCP4ServerEndpoint(reactor, port, *args, **kwargs):
            kwargs.setdefault("interface", hosts.get(port, ""))
            return endpoints.TCP4ServerEndpoint(reactor, port, *args, **kwargs)

    server.endpoints = _Endpoints
