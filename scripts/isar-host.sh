#!/usr/bin/env bash
# Prepares this host for native ISAR builds with `n3x build --backend isar --native-kas`
# (run as root; every step is skipped when already done):
#   - ISAR's host packages (Debian bookworm or newer) and the en_US.UTF-8 locale kas insists on;
#   - the unprivileged build user BitBake runs as (BitBake refuses root): passwordless sudo
#     (ISAR's rootfs steps use sudo) and the sbuild group (ISAR builds packages with sbuild);
#   - kas 5.x from PyPI in a venv in that user's cache directory, where n3x looks for it;
#   - git's trust in this checkout for that user (kas runs git in it; another user owns it).
#
# Usage: scripts/isar-host.sh [USER]      (default user: n3x-build, or $N3X_BUILD_USER)
# Prints the cache directory (DL_DIR, SSTATE_DIR, the build tree, the kas venv) at the end.
set -euo pipefail

BUILD_USER="${1:-${N3X_BUILD_USER:-n3x-build}}"
KAS_VERSION=5.5

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (it adds a user, a sudoers file and Debian packages)" >&2
  exit 2
fi

# ISAR's host packages (ISAR's doc/user_manual.md) plus what n3x's checks of the images use.
PACKAGES=(binfmt-support bubblewrap bzip2 mmdebstrap arch-test apt-utils dpkg-dev gettext-base git
  python3 quilt qemu-user-static reprepro sudo unzip xz-utils git-buildpackage pristine-tar sbuild
  schroot zstd python3-venv python3-pip locales e2fsprogs fdisk ovmf qemu-system-x86)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> installing ISAR's host packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! locale -a 2>/dev/null | grep -qix 'en_US.utf8'; then
  echo "==> generating the en_US.UTF-8 locale"
  sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
  locale-gen >/dev/null
fi

if ! id "$BUILD_USER" >/dev/null 2>&1; then
  echo "==> creating the build user $BUILD_USER (groups: sbuild; passwordless sudo)"
  useradd --create-home --shell /bin/bash --groups sbuild "$BUILD_USER"
fi
id -nG "$BUILD_USER" | grep -qw sbuild || usermod -aG sbuild "$BUILD_USER"
SUDOERS="/etc/sudoers.d/$BUILD_USER"
if [ ! -f "$SUDOERS" ]; then
  echo "$BUILD_USER ALL=(ALL) NOPASSWD: ALL" >"$SUDOERS.tmp"
  chmod 0440 "$SUDOERS.tmp"
  visudo -cqf "$SUDOERS.tmp"
  mv "$SUDOERS.tmp" "$SUDOERS"
fi

# kas runs git without a home directory, so only the system configuration can say it.
REPO=$(cd "$(dirname "$0")/.." && pwd)
if ! git config --file /etc/gitconfig --get-all safe.directory 2>/dev/null | grep -qxF -e "$REPO" -e '*'; then
  git config --file /etc/gitconfig --add safe.directory "$REPO"
fi

HOME_DIR=$(getent passwd "$BUILD_USER" | cut -d: -f6)
CACHE="$HOME_DIR/.cache/n3x/isar"
VENV="$CACHE/kas-$KAS_VERSION"
if [ ! -x "$VENV/bin/kas" ]; then
  echo "==> installing kas $KAS_VERSION (PyPI) into $VENV"
  sudo -u "$BUILD_USER" -H mkdir -p "$CACHE"
  sudo -u "$BUILD_USER" -H python3 -m venv "$VENV"
  sudo -u "$BUILD_USER" -H "$VENV/bin/pip" install --quiet --disable-pip-version-check "kas==$KAS_VERSION"
fi
echo "ISAR host ready: build user $BUILD_USER, kas $("$VENV/bin/kas" --version 2>&1 | awk '{print $2}'), caches in $CACHE"
