#!/usr/bin/env bash
# Build KenLM's lmplz and build_binary from source (no Debian or pip package ships lmplz).
# The source is the `kenlm` sdist on PyPI (it carries the full tree); needs cmake and boost.
#   recipes/lm/build_kenlm.sh [TOOLS_DIR=tools]   -> TOOLS_DIR/kenlm/bin/{lmplz,build_binary}
set -euo pipefail
tools=${1:-tools}
if [ -x "$tools/kenlm/bin/lmplz" ]; then echo "$tools/kenlm/bin/lmplz exists"; exit 0; fi
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential \
    cmake libboost-program-options-dev libboost-system-dev libboost-thread-dev \
    libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev >/dev/null
fi
mkdir -p "$tools/src"
[ -f "$tools/src/kenlm-0.3.0.tar.gz" ] || pip download --no-deps -d "$tools/src" "kenlm==0.3.0"
tar -xzf "$tools/src"/kenlm-0.3.0.tar.gz -C "$tools/src"
mkdir -p "$tools/src/kenlm-0.3.0/build"
cmake -S "$tools/src/kenlm-0.3.0" -B "$tools/src/kenlm-0.3.0/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C "$tools/src/kenlm-0.3.0/build" -j "${JOBS:-1}" lmplz build_binary
mkdir -p "$tools/kenlm/bin"
cp "$tools/src/kenlm-0.3.0/build/bin/"{lmplz,build_binary} "$tools/kenlm/bin/"
echo "built $tools/kenlm/bin/lmplz"
