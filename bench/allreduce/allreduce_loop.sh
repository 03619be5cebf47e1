#!/usr/bin/env bash
# Builds allreduce_loop.c with mpicc (Debian: apt-get install libopenmpi-dev) in a temporary folder and runs it under
# mpirun with NP processes (default 2) on the loopback interface, unless MPIRUN_ARGS replaces those options.
# Used by `striate bench --only allreduce`; the binary is never kept.
set -euo pipefail
np=${1:-2}
command -v mpicc >/dev/null || { echo "allreduce_loop.sh: mpicc not found; install libopenmpi-dev (Open MPI's compiler wrapper)" >&2; exit 3; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/allreduce_loop" "$(dirname "$0")/allreduce_loop.c"
# shellcheck disable=SC2086
mpirun --allow-run-as-root --oversubscribe -np "$np" ${MPIRUN_ARGS:---mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo} "$work/allreduce_loop"
