#!/bin/sh
# Usage: fuzz_smoke.sh <fuzzer> <corpus dir> <artifact dir> [libFuzzer flags...]
# Runs a libFuzzer binary on a copy of the corpus in a temp dir, so the inputs it finds never
# land in the repository. A crashing input is kept in <artifact dir> to be added to the corpus.
set -eu
fuzzer=$1
corpus=$2
artifacts=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/hecs-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
cp "$corpus"/* "$work/corpus/"
"$fuzzer" -artifact_prefix="$artifacts/" "$@" "$work/corpus"
