#!/usr/bin/env bash
# Builds the JupyterLab extension `jobspawner-walltime` into labextension/build/ (the core's
# wheel ships it as share/jupyter/labextensions/jobspawner-walltime; generated, never
# committed). Needs node and npm (packages from the npm registry, pinned by package-lock.json)
# and a Python with JupyterLab 4, whose core package description says which packages the
# extension shares with JupyterLab:
#   labextension/build.sh [PYTHON]      (default: python3)
set -euo pipefail
cd "$(dirname "$0")"
python=${1:-python3}
core=$("$python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))') || {
  echo "labextension/build.sh: $python has no jupyterlab: pass a Python with JupyterLab 4" >&2
  exit 1
}
command -v npm >/dev/null || { echo "labextension/build.sh: npm is missing (Debian: apt-get install npm)" >&2; exit 1; }
[ -d node_modules/@jupyterlab/builder ] || npm ci --no-audit --no-fund --loglevel=error
rm -rf lib build
node node_modules/typescript/bin/tsc -p .
node node_modules/@jupyterlab/builder/lib/build-labextension.js --core-path "$core" . >/dev/null
echo "labextension/build/jobspawner-walltime"
