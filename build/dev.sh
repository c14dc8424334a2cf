#!/usr/bin/env bash
# The two README commands. Each does all set-up on a fresh Debian/Ubuntu machine first:
#   build/dev.sh sandbox   back up and restore a sandbox Mattermost install before your eyes
#   build/dev.sh test      run every test suite (ends with "N passed, N failed, N skipped"; a skip
#                          not on build/skip_allowlist.json fails it, so this installs every tool a
#                          suite needs rather than letting the suite skip)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-}"
case "$what" in sandbox|test) ;; *) echo "usage: build/dev.sh sandbox|test" >&2; exit 2 ;; esac

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js 20 or newer is required (https://nodejs.org or your distribution's nodesource packages)" >&2
  exit 2
fi

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
if [ "$what" = test ]; then
  command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1 || need+=(mariadb-client)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v age >/dev/null 2>&1 || need+=(age)
  command -v jq >/dev/null 2>&1 || need+=(jq)
  # chattr makes a file immutable for the restore-undo test; script gives the prompt tests a tty;
  # mount makes the small tmpfs of the disk-full tests.
  command -v chattr >/dev/null 2>&1 || need+=(e2fsprogs)
  command -v script >/dev/null 2>&1 || need+=(bsdutils)
  command -v mount >/dev/null 2>&1 || need+=(mount)
  # physical mode (docs/pitr.md) runs the real pgBackRest; faketime moves the clock of its expire.
  command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
  command -v faketime >/dev/null 2>&1 || need+=(faketime)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing missing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "$what" = sandbox ]; then
  npm run sandbox
else
  npm test
fi
