#!/usr/bin/env bash
# Installs the mm-backup sidecar from an unpacked release (dist/mm-backup-<version>.tar.gz, written by
# `npm run release`), as root, on the Mattermost host:
#   tar -xzf mm-backup-<version>.tar.gz && sudo ./mm-backup-<version>/install.sh
# It installs the runtime only: the packed sidecar and its runtime dependencies with
# `npm install --omit=dev` into a prefix of its own (no webpack, jest or TypeScript), links the
# `mm-backup` command, creates the config directory (0700) and puts the systemd unit in place
# without enabling it. Running it again upgrades in place; the config is never touched.
#
# Options (the defaults are what the documentation and the systemd unit assume):
#   --prefix DIR        where the package and its dependencies go   (/opt/mm-backup)
#   --bin-dir DIR       where the mm-backup command is linked       (/usr/local/bin)
#   --config-dir DIR    the config directory, made 0700 if missing  (/etc/mm-backup)
#   --systemd-dir DIR   where the unit is copied; "none" skips it   (/etc/systemd/system)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prefix=/opt/mm-backup
bin_dir=/usr/local/bin
config_dir=/etc/mm-backup
systemd_dir=/etc/systemd/system
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --config-dir) config_dir="$2"; shift 2 ;;
    --systemd-dir) systemd_dir="$2"; shift 2 ;;
    *) echo "usage: install.sh [--prefix DIR] [--bin-dir DIR] [--config-dir DIR] [--systemd-dir DIR|none]" >&2; exit 2 ;;
  esac
done

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "install.sh: Node.js 20 or newer is required (your distribution's nodejs, or nodesource packages)" >&2
  exit 2
fi
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm is required (it comes with Node.js)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || echo "install.sh: not running as root; mm-backup itself must run as root on the Mattermost host" >&2

shopt -s nullglob
tarballs=("$here"/mattermost-backup-server-bridge-*.tgz)
if [ ${#tarballs[@]} -ne 1 ]; then
  echo "install.sh: expected exactly one mattermost-backup-server-bridge-*.tgz beside this script in $here" >&2
  exit 2
fi
tarball="${tarballs[0]}"

# The prefix is an npm project of its own: its package.json (made by build/release.mjs) names the
# tarball and carries the project's dependency overrides, which npm applies only to a root project.
install -d -m 755 "$prefix"
cp "$tarball" "$prefix/"
cp "$here/install-package.json" "$prefix/package.json"
(cd "$prefix" && npm install --omit=dev --no-audit --no-fund --loglevel=warn)

install -d -m 755 "$bin_dir"
ln -sfn "$prefix/node_modules/.bin/mm-backup" "$bin_dir/mm-backup"
install -d -m 700 "$config_dir"
if [ "$systemd_dir" != none ] && [ -d "$systemd_dir" ]; then
  install -m 644 "$here/mm-backup.service" "$systemd_dir/mm-backup.service"
  command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && systemctl daemon-reload || true
fi

echo "installed: $("$bin_dir/mm-backup" --version) at $prefix, command $bin_dir/mm-backup"
cat <<EOF
next:
  1. write $config_dir/config.json (0600; docs/configuration.md), then: mm-backup --config $config_dir/config.json discover
  2. the sidecar: systemctl enable --now mm-backup   (unit: $systemd_dir/mm-backup.service)
  3. the System Console page: add nginx-mm-backup.conf (beside this script) to Mattermost's nginx server block
EOF
