"""The test's JupyterLab server: Debian's jupyter_server and jupyterlab_server.

LabServerApp serves the page (templates/index.html), the settings, themes,
translations, workspaces and listings APIs and /lab/extensions/ from
JUPYTER_PATH's labextensions folders; this subclass points it at the front end
built by the test setup (``--ModeldeckLab.build_dir``) and adds the two
endpoints JupyterLab 4.6 asks for that jupyter_server 1.23 does not have.
Run as ``python3 lab_server.py --ModeldeckLab.build_dir=DIR --ServerApp.port=...``.
"""
import json
import os

from jupyter_server.base.handlers import APIHandler
from jupyterlab_server import LabServerApp
from tornado import web, websocket
from traitlets import Unicode

HERE = os.path.dirname(os.path.abspath(__file__))


class MeHandler(APIHandler):
    """GET /api/me (jupyter_server 2's identity API): one fixed user is enough here."""

    @web.authenticated
    def get(self):
        user = {"username": "e2e", "name": "e2e", "display_name": "e2e", "initials": "E", "avatar_url": None, "color": None}
        self.finish(json.dumps({"identity": user, "permissions": {}}))


class EventsHandler(websocket.WebSocketHandler):
    """/api/events/subscribe (jupyter_server 2's event bus): accepted, never sends anything."""

    def check_origin(self, origin):
        return True

    def on_message(self, message):
        pass


class ModeldeckLab(LabServerApp):
    name = "modeldeck_lab"
    app_name = "JupyterLab (modeldeck e2e)"
    load_other_extensions = False
    build_dir = Unicode("", config=True, help="Where the test setup built the front end (static/, schemas/, themes/).")

    def initialize_templates(self):
        # The first step of ExtensionApp.initialize that reads the folders, so they are set here.
        self.static_dir = os.path.join(self.build_dir, "static")
        self.schemas_dir = os.path.join(self.build_dir, "schemas")
        self.themes_dir = os.path.join(self.build_dir, "themes")
        self.templates_dir = os.path.join(HERE, "templates")
        runtime = self.serverapp.runtime_dir
        self.app_settings_dir = os.path.join(runtime, "lab-app-settings")
        self.user_settings_dir = os.path.join(runtime, "lab-user-settings")
        self.workspaces_dir = os.path.join(runtime, "lab-workspaces")
        for d in (self.app_settings_dir, self.user_settings_dir, self.workspaces_dir):
            os.makedirs(d, exist_ok=True)
        # No "notified about official Jupyter news?" toast over the panel in the screenshots, and
        # no update check: /lab/api/update is the jupyterlab package's, not here (the page's
        # catch-all would answer it with HTML).
        overrides = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}
        with open(os.path.join(self.app_settings_dir, "overrides.json"), "w") as f:
            json.dump(overrides, f)
        super().initialize_templates()

    def initialize_handlers(self):
        self.handlers.append(("/api/me", MeHandler))
        self.handlers.append(("/api/events/subscribe", EventsHandler))
        super().initialize_handlers()


def _jupyter_server_extension_points():
    # Run as a script this module is __main__: tells jupyter_server which app it holds.
    return [{"module": "__main__", "app": ModeldeckLab}]


if __name__ == "__main__":
    ModeldeckLab.launch_instance()
