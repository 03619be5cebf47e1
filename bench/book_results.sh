#!/usr/bin/env bash
# Trains every d2l book variant on Fashion-MNIST with the book's recipe (SGD; no input normalization, as the book's
# data loader only scales to [0, 1]) and writes runs/book/<model>/metrics.json; bench/book_results.py turns them into
# the README table. On two CPU cores the 224×224 models take hours per epoch, so LIMIT_* trims what this run covers:
# set them empty for all the images (the epochs stay this script's). ONLY="a b" runs just those models; BOOK_OUT
# moves the output (runs/book-full holds the full-data runs). With PYTORCH=1 each run is followed by
# bench/book_pytorch.py on the same images (<output>-pytorch/<model>), which bench/book_results.py puts beside
# Striate's figure.
#   bash bench/book_results.sh            # from the repository root, after dotnet build -c Release
#   PYTORCH=1 bash bench/book_results.sh  # needs /usr/bin/python3 with PyTorch (Debian's python3-torch)
#   ONLY=d2l-densenet LIMIT_DENSENET= LIMIT_TEST= BOOK_OUT=runs/book-full bash bench/book_results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
striate="dotnet src/Striate.Cli/bin/Release/net10.0/Striate.Cli.dll"
data="${STRIATE_FASHION_DATA:-../shared/datasets}"
out="${BOOK_OUT:-runs/book}"
run() { # name epochs batch lr resize limit-train limit-test [extra...]
  local name=$1 epochs=$2 batch=$3 lr=$4 resize=$5 lt=$6 le=$7; shift 7
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || return 0
  local limits=()
  [ -n "$lt" ] && limits+=(--limit-train "$lt")
  [ -n "$le" ] && limits+=(--limit-test "$le")
  echo "== $name"
  $striate train "$name" --dataset fashion-mnist --data "$data" --epochs "$epochs" --batch-size "$batch" --lr "$lr" \
    --resize "$resize" --optimizer sgd --momentum 0 --weight-decay 0 --scheduler none --no-normalize \
    "${limits[@]}" --out "$out/$name" "$@" | grep -E "^(Training|epoch [0-9]+:|Test accuracy)"
  if [ -n "${PYTORCH:-}" ]; then
    /usr/bin/python3 bench/book_pytorch.py "$name" --data "$data/fashion-mnist" --epochs "$epochs" --batch-size "$batch" \
      --lr "$lr" --resize "$resize" "${limits[@]}" --out "$out-pytorch/$name" "$@"
  fi
}
run lenet          10 256 0.9  28 ""   ""
run d2l-resnet18    2 256 0.05 96 "${LIMIT_RESNET-6000}" "${LIMIT_TEST-2000}"
run d2l-densenet    2 256 0.1  96 "${LIMIT_DENSENET-6000}" "${LIMIT_TEST-2000}"
run d2l-googlenet   1 128 0.1  96 "${LIMIT_SMALL-3000}" "${LIMIT_TEST-2000}"
run nin             1 128 0.1  224 "${LIMIT_SMALL-3000}" "${LIMIT_TEST_224-1000}"
run d2l-alexnet     1 128 0.01 224 "${LIMIT_SMALL-3000}" "${LIMIT_TEST_224-1000}"
run d2l-vgg11       1 128 0.05 224 "${LIMIT_SMALL-3000}" "${LIMIT_TEST_224-1000}" --width 0.25
