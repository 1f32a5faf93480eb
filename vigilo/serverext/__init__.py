"""Jupyter server extension: the browser's only way to the sidecar.

Routes (joined onto the server's ``base_url``, all ``@tornado.web.authenticated``):

- ``/vigilo/api/<path>``: GET/POST proxied to the sidecar found in the
  discovery file, with its bearer token; ``/vigilo/api/events`` is streamed.
- ``/vigilo/start``: POST launches the sidecar (or attaches to the running one).

Enabled by ``jupyter-config/server-config/vigilo.json`` (installed by the
wheel into ``etc/jupyter/jupyter_server_config.d``) as the ``vigilo``
package, whose ``_jupyter_server_extension_points()`` names this module.
"""
from __future__ import annotations


def _load_jupyter_server_extension(server_app):
    """Register the handlers; nothing touches the network here."""
    from .handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("vigilo: server extension loaded; proxying %svigilo/api/ to the sidecar", server_app.web_app.settings.get("base_url", "/"))
