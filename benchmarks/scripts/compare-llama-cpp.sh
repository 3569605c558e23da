#!/usr/bin/env bash
#
# Halyard and llama.cpp side by side on the same GGUF files and thread count, as
# docs/performance.md reports them. Each round measures, back to back: memory read bandwidth
# (the engine's worker threads, JMH), llama-bench and `./halyard bench` at batch 1, and
# llama-batched-bench and `./halyard bench` at batch 8. On a shared machine each pair of runs
# waits until the CPUs have been idle (below QUIET_BUSY percent busy, default 10, over 3 s) and
# the load average is logged before each run. Results go to OUT_DIR (one file per run);
# summarise them with summarise.py.
#
#   benchmarks/scripts/compare-llama-cpp.sh LLAMA_CPP_BIN MODEL_DIR OUT_DIR [THREADS] [ROUNDS]
#
# LLAMA_CPP_BIN: a llama.cpp build's bin/ (llama-bench, llama-batched-bench); MODEL_DIR holds
# llama-135m-{f32,q8_0,q4_0}.gguf from ./halyard make-test-model --shape llama-135m --quant ...
#
set -euo pipefail

BIN="${1:?llama.cpp bin directory}"
MODELS="${2:?model directory}"
OUT="${3:?output directory}"
THREADS="${4:-2}"
ROUNDS="${5:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROMPT=128
GEN=64
mkdir -p "${OUT}"

load() {
    cut -d' ' -f1 /proc/loadavg
}

# percent of CPU time busy over the next 3 seconds (all CPUs, from /proc/stat)
busy() {
    local a b
    a=($(head -n 1 /proc/stat))
    sleep 3
    b=($(head -n 1 /proc/stat))
    local total=0 idle
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    idle=$((b[4] - a[4] + b[5] - a[5]))
    echo $(( total > 0 ? 100 * (total - idle) / total : 100 ))
}

wait_quiet() {
    local waited=0
    while [ "$(busy)" -gt "${QUIET_BUSY:-10}" ]; do
        waited=$((waited + 1))
        if [ $((waited % 20)) -eq 0 ]; then echo "  waiting for idle CPUs (load $(load))"; fi
    done
}

for round in $(seq 1 "${ROUNDS}"); do
    echo "round ${round}: load $(load)"
    wait_quiet
    echo "{\"load\": $(load)}" > "${OUT}/r${round}-bandwidth.load"
    "${ROOT}/halyard" jmh MemoryBandwidthBenchmark -p threads="${THREADS}" -wi 1 -i 3 -w 1 -r 2 -f 1 \
        > "${OUT}/r${round}-bandwidth.txt" 2>&1
    for quant in q8_0 q4_0 f32; do
        model="${MODELS}/llama-135m-${quant}.gguf"
        wait_quiet
        echo "{\"load\": $(load)}" > "${OUT}/r${round}-${quant}-b1-llama.load"
        "${BIN}/llama-bench" -m "${model}" -t "${THREADS}" -p "${PROMPT}" -n "${GEN}" -r 3 -o json \
            > "${OUT}/r${round}-${quant}-b1-llama.json" 2>/dev/null
        echo "{\"load\": $(load)}" > "${OUT}/r${round}-${quant}-b1-halyard.load"
        "${ROOT}/halyard" bench --model "${model}" --prompt-tokens "${PROMPT}" --gen-tokens "${GEN}" --batch 1 \
            --threads "${THREADS}" --repetitions 3 2>/dev/null | tail -n 1 > "${OUT}/r${round}-${quant}-b1-halyard.json"
        wait_quiet
        echo "{\"load\": $(load)}" > "${OUT}/r${round}-${quant}-b8-llama.load"
        "${BIN}/llama-batched-bench" -m "${model}" -t "${THREADS}" -c 2048 -b 2048 -ub 512 -npp "${PROMPT}" \
            -ntg "${GEN}" -npl 8 --output-format jsonl 2>/dev/null | grep '^{' > "${OUT}/r${round}-${quant}-b8-llama.json"
        echo "{\"load\": $(load)}" > "${OUT}/r${round}-${quant}-b8-halyard.load"
        "${ROOT}/halyard" bench --model "${model}" --prompt-tokens "${PROMPT}" --gen-tokens "${GEN}" --batch 8 \
            --threads "${THREADS}" --repetitions 2 2>/dev/null | tail -n 1 > "${OUT}/r${round}-${quant}-b8-halyard.json"
        echo "  ${quant} done, load $(load)"
    done
done
