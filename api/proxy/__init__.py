"""The in-server proxy for services (docs/services.md)."""

from api.proxy.hooks import RequestCounter, ServiceWaker
from api.proxy.proxy import HOLD_SECONDS, ServiceProxy
from api.proxy.routes import PREFIX

__all__ = ["HOLD_SECONDS", "PREFIX", "RequestCounter", "ServiceProxy", "ServiceWaker", "service_url"]


def service_url(public_url: str, project: str, run_name: str) -> str:
    """Where clients reach a service: through the proxy of the API at `public_url`."""
    return f"{public_url.rstrip('/')}{PREFIX}/{project}/{run_name}/"
