#!/usr/bin/env bash
# Fashion-MNIST with the probabilistic-circuit codec, beside the reference
# codecs, in the two compare.py tables doc/models/pc.md quotes:
#   1. the raw test-set IDX file (10,000 images): sibyl --prior vs xz, zstd, ...
#   2. the test set as one 28 x 280,000 PGM strip: sibyl --prior vs cjxl, webp, ...
# Trains the prior on the 60,000 training images first unless PRIOR is set.
#   bench/pc_fashion.sh [WORKDIR]      (env: PRIOR, LATENT, EPOCHS; ADAPT=1: sibyl --adapt)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=$here/../shared/corpus/image/fashion-mnist
work=${1:-$(mktemp -d)}
mkdir -p "$work"
sibyl=$here/build/sibyl
if [ -z "${PRIOR:-}" ]; then
  PRIOR=$work/fashion.prior
  /usr/bin/time -f "train: %e s wall, %M KiB peak" "$sibyl" train --type pc --latent "${LATENT:-32}" \
    ${EPOCHS:+--epochs "$EPOCHS"} -f -o "$PRIOR" "$data/train-images-idx3-ubyte.gz"
fi
ls -l "$PRIOR"
gunzip -c "$data/t10k-images-idx3-ubyte.gz" >"$work/t10k-images.idx"
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
d = open(w + '/t10k-images.idx', 'rb').read()[16:]
open(w + '/t10k-strip.pgm', 'wb').write(b'P5\n28 280000\n255\n' + d)
PY
cmp="python3 $here/../shared/tools/compare.py --sibyl $here/bench/sibyl_with_prior.sh"
export SIBYL_PRIOR=$PRIOR
[ -n "${ADAPT:-}" ] && export SIBYL_ADAPT=1
$cmp --codecs sibyl-6,xz-9e,zstd-19,brotli-11,bzip3,7z-ppmd "$work/t10k-images.idx"
$cmp --codecs sibyl-6,cjxl-e9,cjxl-e7,webp-lossless,xz-9e "$work/t10k-strip.pgm"
