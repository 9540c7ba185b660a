#!/usr/bin/env bash
# The Debian packages the tests use besides Node: Jupyter runs notebooks/quickstart.ipynb
# in the modeldeck kernel (tests/notebooks.test.ts), and the widget's browser test
# (tests/e2e) runs headless Chromium against jupyter_server; Jupyter's own kernel test
# suite (jupyter_kernel_test) checks the modeldeck kernel's protocol (tests/conformance);
# jupyterlab_server serves the JupyterLab page; python3-ipykernel is the Python kernel of the
# Python route (tests/python-kernel.test.ts); fuse3 and python3-fusepy run the simulated
# Google Drive mount of the drive tests and `npm run bench:drive` (tests/drive-mount). Run by `npm test` (pretest)
# and so by CI: installs what is missing when it can (root with apt-get), else says
# what to install. A machine that has them all skips apt entirely.
set -euo pipefail

need=()
command -v jupyter-nbconvert >/dev/null || need+=(jupyter-nbconvert)
/usr/bin/python3 -c 'import nbclient' 2>/dev/null || need+=(python3-nbclient)
/usr/bin/python3 -c 'import jupyter_client' 2>/dev/null || need+=(python3-jupyter-client)
/usr/bin/python3 -c 'import jupyter_server' 2>/dev/null || need+=(python3-jupyter-server)
/usr/bin/python3 -c 'import jupyter_kernel_test' 2>/dev/null || need+=(python3-jupyter-kernel-test)
/usr/bin/python3 -c 'import jupyterlab_server' 2>/dev/null || need+=(python3-jupyterlab-server)
/usr/bin/python3 -c 'import ipykernel' 2>/dev/null || need+=(python3-ipykernel)
command -v chromium >/dev/null || need+=(chromium)
command -v fusermount3 >/dev/null || need+=(fuse3)
/usr/bin/python3 -c 'import fusepy' 2>/dev/null || need+=(python3-fusepy)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$EUID" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "== apt-get install ${need[*]}"
  # Another install may hold the dpkg lock for a while on a shared machine: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
else
  echo "modeldeck tests need these Debian packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  exit 1
fi
