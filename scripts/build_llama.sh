#!/usr/bin/env bash
# Build and install llama-cpp-python for ANY CPU of this architecture, never a wheel from a cache.
#
# llama.cpp's default build compiles for the build machine's own CPU (-march=native): on another CPU
# (one without AVX-512 or AMX, say) the library dies with SIGILL/SIGSEGV. pip's wheel cache does not
# key wheels on CMAKE_ARGS, so a natively built wheel cached on one machine would be reused on the
# next. Here the wheel is built from source with GGML_NATIVE=OFF (x86-64: AVX2/FMA/F16C baseline,
# or plain SSE where this CPU lacks AVX2; arm64: generic armv8) and --no-cache-dir.
# Usage: scripts/build_llama.sh PYTHON      (the version range is read from pyproject.toml)
set -euo pipefail
py=${1:-python3}
cd "$(dirname "$0")/.."
spec=$(grep -o '"llama-cpp-python[^"]*"' pyproject.toml | head -n 1 | tr -d '"')
[ -n "$spec" ] || { echo "no llama-cpp-python requirement in pyproject.toml" >&2; exit 2; }
args="-DGGML_NATIVE=OFF"
if [ "$(uname -m)" = x86_64 ] && ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  args="$args -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF"
fi
export CMAKE_ARGS="$args ${AGENTGYM_LLAMA_CMAKE_ARGS:-}"
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
echo "building $spec with CMAKE_ARGS=\"$CMAKE_ARGS\" (portable; a few minutes on 2 cores)"
"$py" -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python -w "$wheels" "$spec"
"$py" -m pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
