#!/usr/bin/env bash
# Regenerates the committed screenshots with the program itself (run after a view changes).
set -euo pipefail
cd "$(dirname "$0")/.."
# The user's colour settings must not leak into the committed images; --theme beats config.yaml.
unset NO_COLOR N3X_THEME
n3x=(cargo run --quiet --)
for view in matrix builds cluster tests; do
  "${n3x[@]}" screenshot --theme dark --view "$view" --size 120x40 --variant server-vlans-server-1 --out "screenshots/$view.svg"
done
"${n3x[@]}" screenshot --theme dark --view matrix --size 80x24 --variant server-bonding-vlans-server-2 --out screenshots/matrix-80x24.svg
for theme in light high-contrast; do
  "${n3x[@]}" screenshot --theme "$theme" --view matrix --size 120x40 --variant server-vlans-server-1 --out "screenshots/matrix-$theme.svg"
done
# The file preview (15-eth1.network of server-vlans-server-1) and the diff of two marked variants.
"${n3x[@]}" screenshot --theme dark --view matrix --size 120x40 --variant server-vlans-server-1 --keys '<Enter>jjjjjj' --out screenshots/matrix-preview.svg
"${n3x[@]}" screenshot --theme dark --view matrix --size 120x40 --variant server-vlans-server-1 --keys 'mjjmd' --out screenshots/matrix-diff.svg
# The profile editor with an edit (VLAN 200 -> 201) and what it does to the rendered files.
"${n3x[@]}" screenshot --theme dark --view matrix --size 120x40 --variant server-vlans-server-1 --keys 'e<Down><Down><Down><Down><Down><Down><Down><Down><End><BS>1' --out screenshots/editor.svg
