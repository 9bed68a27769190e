#!/usr/bin/env bash
# Benchmark (not part of CI): archives at scale. For N = 20, 200 and 2,000
# synthetic segments (override: scripts/scale-test.sh 20 200), with 1 and 2
# threads, times `build-tables`, `pack` and `unpack` and reports their wall time
# and peak RSS (/usr/bin/time -v), plus unpack's tokens per second per thread.
#
# The segments are made from the real frames: segment j is frames s..1200 of real
# segment j mod 2 followed by frames 0..s of the other one, s = 7j mod 1200; so
# every segment is 1200 real frames with one cut, and all 2,400 possible segments
# are distinct. They are written as webdataset shards of at most 2,500 segments
# (`<key>.json` with its file_name, `<key>.token.npy`), gzip level 1.
#
# Targets (issue 12): peak RSS at most 512 MiB and flat from 200 to 2,000;
# 2 threads at least 1.7x one thread for pack and unpack; unpack at least
# 100 M tokens/s per thread. The machine may be shared: read figures as ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(20 200 2000)
command -v /usr/bin/time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --locked -p host-tools >/dev/null 2>&1
HT="$PWD/target/release/host-tools"
DATA="${VQTANS_DATA_DIR:-$PWD/../shared/data/commavq}"
work=$(mktemp -d "${TMPDIR:-/tmp}/scale-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

make_shards() { # N DIR
    python3 - "$1" "$2" "$DATA" <<'PY'
import io, json, sys, tarfile
n, out, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
real = [open(f"{data}/{name}", "rb").read() for name in ("commaai-commavq_0.npy", "mattseabrook-commavq_0.npy")]
head, frames = real[0][:128], [r[128:] for r in real]
assert all(len(f) == 1200 * 256 for f in frames)
per_shard = 2500
for first in range(0, n, per_shard):
    with tarfile.open(f"{out}/data-{first // per_shard:04d}.tar.gz", "w:gz", compresslevel=1) as tar:
        for j in range(first, min(n, first + per_shard)):
            a, b, s = frames[j % 2], frames[1 - j % 2], (7 * j) % 1200
            key = f"synth{j:05d}_{s}"
            members = [(f"{key}.json", json.dumps({"file_name": f"{key}.npy"}).encode()),
                       (f"{key}.token.npy", head + a[s * 256:] + b[:s * 256])]
            for name, body in members:
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
PY
}

# timed CMD...: runs CMD under /usr/bin/time -v; prints wall seconds, CPU seconds
# (user + system: what the work cost, whatever else shares the machine) and peak
# RSS in MiB.
timed() {
    local log="$work/time.log"
    /usr/bin/time -v "$@" >"$work/out.log" 2>"$log" || { cat "$work/out.log" "$log" >&2; exit 1; }
    local wall rss cpu
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$log")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    echo "$wall $cpu $((rss / 1024))"
}

# row N THREADS STEP WALL CPU RSS TOKENS
row() {
    printf '%-6s %-7s %-12s %8s %8s %8s %12.1f %16.1f\n' "$1" "$2" "$3" "$4" "$5" "$6" \
        "$(echo "$7 / $4 / 1000000" | bc -l)" "$(echo "$7 / $5 / 1000000" | bc -l)"
}

printf '%-6s %-7s %-12s %8s %8s %8s %12s %16s\n' N threads step "wall s" "CPU s" "RSS MiB" "M tok/s wall" "M tok/CPU-s"
for n in "${sizes[@]}"; do
    dir="$work/n$n"
    mkdir -p "$dir/shards"
    make_shards "$n" "$dir/shards"
    tokens=$((n * 1200 * 128))
    for threads in 1 2; do
        read -r wall cpu rss < <(timed "$HT" --threads "$threads" build-tables -o "$dir/t.vqtt" "$dir"/shards/*.tar.gz)
        row "$n" "$threads" build-tables "$wall" "$cpu" "$rss" "$tokens"
        read -r wall cpu rss < <(timed "$HT" --threads "$threads" pack -o "$dir/s.vqa" --tables "$dir/t.vqtt" "$dir"/shards/*.tar.gz)
        row "$n" "$threads" pack "$wall" "$cpu" "$rss" "$tokens"
        rm -rf "$dir/out"
        read -r wall cpu rss < <(timed "$HT" --threads "$threads" unpack "$dir/s.vqa" -o "$dir/out")
        row "$n" "$threads" unpack "$wall" "$cpu" "$rss" "$tokens"
        rm -rf "$dir/out"
    done
    echo "archive of $n segments: $(stat -c %s "$dir/s.vqa") bytes; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -rf "$dir"
done
