#!/usr/bin/env bash
# Installs the system packages LeadTrack needs from Debian, when missing and we are root.
#   python   - the venv module (python3-venv) for creating .venv
#   npm      - Node's package manager, for the front-end packages
#   chromium - the browser the UI tests drive; under CI=true a missing browser is a failure
set -euo pipefail

need="$1"
apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "ensure-system: $* is missing; install it (sudo apt-get install $*) and run again." >&2
    return 1
  fi
  echo "ensure-system: installing $* from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

case "$need" in
  python)
    python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
    ;;
  npm)
    command -v npm >/dev/null || apt_install npm
    ;;
  chromium)
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
      if ! apt_install chromium; then
        if [ "${CI:-}" = "true" ]; then
          echo "ensure-system: no Chromium and cannot install it: browser tests cannot run" >&2
          exit 1
        fi
        echo "ensure-system: no Chromium; browser tests will be skipped outside CI" >&2
      fi
    fi
    ;;
  *) echo "ensure-system: unknown need '$need'" >&2; exit 2 ;;
esac
