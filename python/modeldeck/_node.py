"""Finding Node and the npm package, and the one Node process of this kernel."""
import os
import re
import shutil
import subprocess

from ._errors import ModeldeckError

MIN_NODE = (20, 18)
_NODE_FIX = (
    "install Node.js %d.%d or newer (on Colab: !curl -fsSL https://deb.nodesource.com/setup_22.x | bash - "
    "&& apt-get install -y nodejs), or point MODELDECK_NODE at a node binary" % MIN_NODE
)


def package_dir():
    """The npm package's folder (the one with lib/ and dist/)."""
    own = os.environ.get("MODELDECK_PACKAGE_DIR")
    candidates = [own] if own else []
    # python/modeldeck/ inside the npm package: two levels up.
    candidates.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    candidates += [os.path.join(os.getcwd(), "node_modules", "modeldeck"), "/content/node_modules/modeldeck"]
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "lib", "hosts", "stdio", "main.js")):
            return c
    raise ModeldeckError(
        "cannot find the modeldeck npm package (lib/hosts/stdio/main.js); run `npm install modeldeck` "
        "in this folder or set MODELDECK_PACKAGE_DIR"
    )


def node_binary():
    """The node to run, checked for its version; ModeldeckError (one line) when missing or too old."""
    node = os.environ.get("MODELDECK_NODE") or shutil.which("node")
    if not node:
        raise ModeldeckError("Node.js was not found; " + _NODE_FIX)
    try:
        out = subprocess.run([node, "-v"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        raise ModeldeckError("cannot run %s (%s); %s" % (node, err, _NODE_FIX))
    m = re.match(r"v(\d+)\.(\d+)", out)
    if not m:
        raise ModeldeckError("%s -v printed %r, not a Node.js version; %s" % (node, out[:40], _NODE_FIX))
    if (int(m.group(1)), int(m.group(2))) < MIN_NODE:
        raise ModeldeckError("Node.js %s is too old; %s" % (out, _NODE_FIX))
    return node


def civitai_token():
    """CIVITAI_TOKEN from the environment, else from Colab's secrets when the user allowed it."""
    token = os.environ.get("CIVITAI_TOKEN")
    if token:
        return token
    try:
        from google.colab import userdata  # type: ignore
    except ImportError:
        return None
    try:
        return userdata.get("CIVITAI_TOKEN") or None
    except Exception:  # not set, or access not granted: work without one
        return None


def child_environment():
    env = dict(os.environ)
    token = civitai_token()
    if token:
        env["CIVITAI_TOKEN"] = token
    return env
