#!/usr/bin/env bash
# Installs the deploy validators (kubernetes-validate, ansible-core) from PyPI into a venv under .cache,
# once: later calls return at once while the pinned requirements are unchanged. Prints the venv's path.
# Usage: deploy/scripts/setup-validators.sh   (TOPOFLOW_DEPLOY_VENV overrides the venv location)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${TOPOFLOW_DEPLOY_VENV:-$root/.cache/venv-deploy}"
requirements="$here/requirements.txt"
stamp="$venv/.topoflow-requirements"

installed () {
  [[ -x "$venv/bin/kubernetes-validate" && -x "$venv/bin/ansible-playbook" ]] && cmp -s "$requirements" "$stamp"
}

mkdir -p "$(dirname "$venv")"
# Tests may call this from parallel processes: one installs, the others wait and then find it done.
exec 9>"$venv.lock"
flock -w 600 9 || { echo "setup-validators: timed out waiting for $venv.lock" >&2; exit 1; }

if ! installed; then
  python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || { echo "setup-validators: $python not found (install python3 and python3-venv)" >&2; exit 1; }
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || { echo "setup-validators: '$python -m venv' failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --timeout 60 -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$venv"
