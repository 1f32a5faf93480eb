"""Jupyter server configuration for the Galata UI tests.

Never use it for real work: it turns authentication off and exposes
JupyterLab's objects on `window` (Galata's defaults).
"""
import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("VIGILO_UI_PORT", "8899"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821 - CI containers run as root
# The tests' own data dir (VIGILO_DATA_DIR is set by playwright.config.js).
c.ServerApp.log_level = "INFO"  # noqa: F821
