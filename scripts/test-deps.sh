#!/usr/bin/env bash
# The Debian packages the tests use besides Node: Jupyter runs notebooks/quickstart.ipynb
# in the modeldeck kernel (tests/notebooks.test.ts), and the widget's browser test
# (tests/e2e) runs headless Chromium against jupyter_server. Run by `npm test` (pretest)
# and so by CI: installs what is missing when it can (root with apt-get), else says
# what to install. A machine that has them all skips apt entirely.
set -euo pipefail

need=()
command -v jupyter-nbconvert >/dev/null || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient' 2>/dev/null || need+=(python3-nbclient)
/usr/bin/python3 -c 'import jupyter_client' 2>/dev/null || need+=(python3-jupyter-client)
/usr/bin/python3 -c 'import jupyter_server' 2>/dev/null || need+=(python3-jupyter-server)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$EUID" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
else
  echo "modeldeck tests need these Debian packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
