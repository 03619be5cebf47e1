#!/usr/bin/env bash
# Peak resident memory of a process that trains the d2l book's ResNet-18 on [64, 1, 96, 96] and then infers with it,
# Striate beside PyTorch 1.13 (and the TorchSharp anchor with --torchsharp), one after the other in one sitting.
#   bash bench/peak_rss.sh [--threads 2] [--torchsharp]
# Striate: `striate bench --only resnet models --figures resnet18_d2l` (resnet18_d2l_96_train_b64: SGD steps for at
# least 4 s, then resnet18_d2l_96_infer_b64: 12 eval forwards; build src/Striate.Cli -c Release first).
# PyTorch: bench/torch_models_bench.py --only resnet18_d2l (the same two figures; SGD with momentum 0.9, which keeps
# one more copy of the weights, 43 MiB). TorchSharp: run.sh --only resnet18_d2l (its own build step runs first under
# the same timer, but a build's peak is far below the figure's). Prints "side<TAB>peak MiB<TAB>figures".
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2; torchsharp=0
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2;;
    --torchsharp) torchsharp=1; shift;;
    *) echo "usage: bench/peak_rss.sh [--threads N] [--torchsharp]" >&2; exit 2;;
  esac
done
run() {
  local side=$1; shift
  local out err
  out=$(mktemp); err=$(mktemp)
  if /usr/bin/time -v "$@" >"$out" 2>"$err"; then
    local kb
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$err")
    printf '%s\t%d MiB\t%s\n' "$side" $((kb / 1024)) "$(grep -v '^#' "$out" | awk '{printf "%s %s %s; ", $1, $2, $3}')"
  else
    echo "$side failed:" >&2; tail -5 "$err" >&2
  fi
  rm -f "$out" "$err"
}
run striate src/Striate.Cli/bin/Release/net10.0/striate bench --threads "$threads" --only resnet models --figures resnet18_d2l
run pytorch /usr/bin/python3 bench/torch_models_bench.py --threads "$threads" --only resnet18_d2l
anchor=../shared/anchors/torchsharp/run.sh
[ -f "$anchor" ] || anchor=/work/shared/anchors/torchsharp/run.sh
if [ "$torchsharp" = 1 ]; then run torchsharp bash "$anchor" --threads "$threads" --only resnet18_d2l; fi
