#!/usr/bin/env bash
# GPU check: builds the -tags xla test binaries (./model, ./zoomr) and examples/bench here; then, on a
# machine with an NVIDIA GPU and JAX's CUDA PJRT plugin in a Python environment (the wheel
# jax-cuda12-pjrt ships jax_plugins/xla_cuda12/xla_cuda_plugin.so; docs/xla.md), runs on XLA CUDA
#   - the llama.cpp goldens (model: TestOracleGoldens),
#   - covering ZoomR = full cache, token for token (zoomr: TestCoveringZoomREqualsFull),
#   - a 1k/16k bench of the host engine against XLA CUDA (examples/bench),
# and prints one table (also written to testdata/bench/gpu-check.txt, to commit).
#
#   scripts/gpu-check.sh              build, then run if a GPU is here (without one: say so, exit 0)
#   scripts/gpu-check.sh --dry-run    build only
#   scripts/gpu-check.sh --no-build   run the binaries built before in $OUT (e.g. built on a machine
#                                     with Go and copied, with the working tree, to the GPU machine)
#
# Environment: PYTHON (default python3), the interpreter whose environment holds the plugin;
# CUDA_PLUGIN, the plugin file itself (skips the lookup); OUT (default bin/gpu-check), where the
# binaries and logs go; BENCH_LENGTHS (default 1024,16384).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
OUT=${OUT:-bin/gpu-check}
PYTHON=${PYTHON:-python3}
BENCH_LENGTHS=${BENCH_LENGTHS:-1024,16384}
mode=run
case "${1:-}" in
  --dry-run) mode=dry ;;
  --no-build) mode=nobuild ;;
  "") ;;
  *) echo "usage: $0 [--dry-run | --no-build]" >&2; exit 2 ;;
esac
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)

if [ "$mode" != nobuild ]; then
  echo "building the -tags xla test binaries and the bench into $OUT ..."
  go test -tags xla -c -o "$OUT/model.test" ./model
  go test -tags xla -c -o "$OUT/zoomr.test" ./zoomr
  go build -tags xla -o "$OUT/bench" ./examples/bench
  ls -l "$OUT/model.test" "$OUT/zoomr.test" "$OUT/bench" | awk '{print "  built", $NF, $5, "bytes"}'
fi
for bin in model.test zoomr.test bench; do
  if [ ! -x "$OUT/$bin" ]; then
    echo "$OUT/$bin is missing: run without --no-build on a machine with Go first" >&2
    exit 1
  fi
done
if [ "$mode" = dry ]; then
  echo "dry run: built only, nothing run."
  exit 0
fi

# An NVIDIA GPU?
if ! command -v nvidia-smi >/dev/null 2>&1 || ! gpus=$(nvidia-smi -L 2>/dev/null) || [ -z "$gpus" ]; then
  echo "no NVIDIA GPU here (nvidia-smi absent or lists no GPU): built the binaries, ran nothing."
  exit 0
fi
echo "$gpus"

# JAX's CUDA PJRT plugin: CUDA_PLUGIN, or looked up in $PYTHON's environment (without importing JAX).
plugin=${CUDA_PLUGIN:-}
if [ -z "$plugin" ]; then
  plugin=$("$PYTHON" - <<'EOF' 2>/dev/null || true
import importlib.util, pathlib
for name in ("jax_plugins.xla_cuda12", "jax_plugins.xla_cuda13"):
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:
        continue
    for d in (spec.submodule_search_locations or []) if spec else []:
        p = pathlib.Path(d, "xla_cuda_plugin.so")
        if p.exists():
            print(p)
            raise SystemExit(0)
raise SystemExit(1)
EOF
)
fi
if [ -z "$plugin" ] || [ ! -f "$plugin" ]; then
  echo "no CUDA PJRT plugin: install it into $PYTHON's environment (pip install jax-cuda12-pjrt==0.11.2" \
    "'jax-cuda12-plugin[with-cuda]==0.11.2', see docs/xla.md) or set CUDA_PLUGIN=/path/to/xla_cuda_plugin.so" >&2
  exit 1
fi
plugin=$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")
# The CUDA libraries from the nvidia-* wheels beside the plugin, when that is where they are.
site=$(dirname "$(dirname "$(dirname "$plugin")")")
for lib in "$site"/nvidia/*/lib; do
  if [ -d "$lib" ]; then LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"
export GOMLX_BACKEND="xla:$plugin" GOMLX_NO_AUTO_INSTALL=1
case "$(basename "$plugin")" in
  *cuda*) label=xla:cuda ;;
  *) label="xla:$(basename "$plugin" .so)" ;; # another plugin standing in (e.g. to test this script)
esac
export GPU_CHECK_LABEL=$label
echo "plugin: $plugin"

# run_test PKG NAME: the test binary of PKG, in its package directory (the tests read testdata by
# relative paths); prints PASS or FAIL and keeps the log.
run_test() {
  local log="$OUT/logs/$1-$2.log"
  if (cd "$root/$1" && "$OUT/$1.test" -test.run "^$2\$" -test.v -test.timeout 30m) >"$log" 2>&1; then
    echo PASS
  else
    echo FAIL
  fi
}
goldens=$(run_test model TestOracleGoldens)
golden_diff=$(grep -o 'max |log-prob - llama.cpp| over [0-9]* positions × top-20: [0-9.e+-]*' "$OUT/logs/model-TestOracleGoldens.log" |
  awk '{v=$NF+0; if (v>m) m=v} END {if (NR) printf "max |Δ log-prob| %.1e over %d models", m, NR}')
zoomr=$(run_test zoomr TestCoveringZoomREqualsFull)
bench_status=PASS
"$OUT/bench" -backends "host,xla:$plugin" -lengths "$BENCH_LENGTHS" -json -out "$OUT/bench.json" \
  >/dev/null 2>"$OUT/logs/bench.log" || bench_status=FAIL

table="$root/testdata/bench/gpu-check.txt"
{
  echo "GPU check $(date -u +%Y-%m-%dT%H:%MZ), $(echo "$gpus" | head -1), plugin $(basename "$(dirname "$plugin")")/$(basename "$plugin")"
  printf '%-44s %-9s %s\n' check backend result
  printf '%-44s %-9s %s\n' "llama.cpp goldens (model TestOracleGoldens)" "$label" "$goldens  $golden_diff"
  printf '%-44s %-9s %s\n' "covering ZoomR = full (zoomr)" "$label" "$zoomr"
  if [ "$bench_status" = PASS ]; then
    "$PYTHON" - "$OUT/bench.json" <<'EOF'
import json, os, sys
for r in json.load(open(sys.argv[1]))["runs"]:
    backend = "host" if r["backend"] == "host" else os.environ["GPU_CHECK_LABEL"]
    check = f'bench {r["model"]} {r["policy"]} {r["length"]}'
    print(f'{check:<44} {backend:<9} {r["tokens_per_s"]:8.1f} tok/s  {r["transfer_bytes_per_token"]:9.0f} B/token moved  '
          f'{r["peak_resident_bytes"] / 2**20:8.1f} MiB resident KV')
EOF
  else
    printf '%-44s %-9s %s\n' "bench $BENCH_LENGTHS" "host,$label" "FAIL (see $OUT/logs/bench.log)"
  fi
} | tee "$table"
echo "logs in $OUT/logs; the table is in ${table#$root/} (commit it)"
[ "$goldens" = PASS ] && [ "$zoomr" = PASS ] && [ "$bench_status" = PASS ]
