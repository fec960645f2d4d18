#!/usr/bin/env bash
# The layering check (docs/architecture.md, "Layers"): every #include "folder/..." in a layer's
# files must name its own layer or one below it. Prints each forbidden include as
# file:line: what, and exits 1 when there is one.
#   scripts/check_layers.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# Each layer and the layers it may include, lowest first. The static libraries of
# CMakeLists.txt link along the same arrows.
declare -A uses=(
  [base]="base"
  [kernels]="base kernels"
  [engine]="base kernels engine"
  [dist]="base kernels engine dist"
  [layers]="base kernels engine dist layers"
  [models]="base kernels engine dist layers models"
  [data]="base kernels engine data"
  [evaluation]="base kernels engine dist layers models data evaluation"
  [train]="base kernels engine dist layers models data evaluation train"
  [pictures]="base kernels engine dist layers models data evaluation train pictures"
  [export]="base kernels engine dist layers models export"
  [cli]="base kernels engine dist layers models data evaluation train pictures export cli"
)

bad=0
for layer in "${!uses[@]}"; do
  [[ -d $layer ]] || { echo "check_layers: no folder $layer/"; exit 1; }
  while IFS=: read -r file line text; do
    target=$(sed -E 's/^#include "([^/"]+)\/.*/\1/' <<<"$text")
    [[ -d $target ]] || continue  # a header of the same folder or a system one
    if [[ " ${uses[$layer]} " != *" $target "* ]]; then
      echo "$file:$line: layer $layer includes $target/ ($text); $layer may include: ${uses[$layer]}"
      bad=1
    fi
  done < <(grep -rnE --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' --include='*.inc' \
             '^#include "[^/"]+/' "$layer" || true)
done
if [[ $bad == 0 ]]; then echo "layers: every include points down (${#uses[@]} layers)"; fi
exit $bad
