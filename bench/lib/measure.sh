# shellcheck shell=bash
# Measurements for bench/run.sh: broker CPU time and RssAnon from /proc, page-cache eviction, raw
# disk bandwidth with dd, and parsing the official Java benchmark's report lines.

# shellcheck disable=SC2034 # read by run.sh
CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of the process (all its threads), in clock ticks.
cpu_ticks() {
  local stat
  stat=$(< "/proc/$1/stat") || return 1
  stat=${stat##*) } # the command name may contain spaces; fields restart after ") "
  # shellcheck disable=SC2206 # deliberate word splitting of the stat fields
  local f=($stat)
  echo $((f[11] + f[12]))
}

# rss_anon_kib PID: anonymous resident memory (heap, stacks, malloc) without file-backed pages
# such as the mapped CommitLog, which both brokers have in their RSS.
rss_anon_kib() {
  awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"
}

# evict_cache DIR: flushes dirty pages and drops DIR's files from the page cache. Tries the global
# drop_caches first (BENCH_DROP_CACHES=1, needs root); always also evicts DIR file by file with
# posix_fadvise(DONTNEED) through `dd iflag=nocache count=0`. Prints how it went.
evict_cache() {
  local dir=$1 how="per-file fadvise(DONTNEED)" resident
  sync
  if [[ ${BENCH_DROP_CACHES:-1} == 1 ]] && (echo 3 > /proc/sys/vm/drop_caches) 2> /dev/null; then
    how="global drop_caches + per-file fadvise"
  fi
  find "$dir" -type f -exec dd if={} iflag=nocache count=0 status=none \; 2> /dev/null || true
  resident=unknown
  if command -v fincore > /dev/null; then
    resident=$(find "$dir" -type f -size +0 -exec fincore -b -n -o RES {} + 2> /dev/null | awk '{ s += $1 } END { print s + 0 }')
  fi
  echo "$how; resident after eviction: $resident bytes"
}

# disk_bandwidth DIR MIB: sequential write of MIB MiB with O_DIRECT, then buffered + fdatasync;
# appends both to disk.jsonl.
disk_bandwidth() {
  local dir=$1 mib=$2 mode line bytes secs
  for mode in oflag=direct conv=fdatasync; do
    line=$(dd if=/dev/zero of="$dir/ddtest" bs=1M count="$mib" "$mode" 2>&1 | tail -1)
    rm -f "$dir/ddtest"
    echo "$mode: $line" >> "$LOGS/dd.log"
    bytes=$(awk '{ print $1 }' <<< "$line")
    secs=$(sed -E 's/.* copied, ([0-9.]+) s,.*/\1/' <<< "$line")
    if [[ $bytes =~ ^[0-9]+$ && $secs =~ ^[0-9.]+$ ]]; then
      jq -nc --arg mode "$mode" --argjson bytes "$bytes" --argjson secs "$secs" \
        '{mode: $mode, bytes: $bytes, seconds: $secs, mib_per_s: ($bytes / 1048576 / $secs)}' >> "$RESULTS/disk.jsonl"
      log "  dd $mode: $(jq -nr --argjson b "$bytes" --argjson s "$secs" '$b / 1048576 / $s | floor') MiB/s"
    else
      log "  dd $mode failed: $line"
    fi
  done
}

# java_producer_figures LOG: JSON {tps, avg_ms, max_ms, windows} from the official Producer's
# "Send TPS: N | Max RT(ms): N | Average RT(ms): x" lines (one per 10 s window; the first window,
# JVM warm-up, is dropped when there are more). null figures when it printed none.
java_producer_figures() {
  awk -F'|' '
    /Send TPS:/ && !/\[Complete\]/ {
      for (i = 1; i <= NF; i++) {
        split($i, kv, ":")
        if ($i ~ /Send TPS/) tps = kv[2] + 0
        if ($i ~ /Max RT/) mx = kv[2] + 0
        if ($i ~ /Average RT/) avg = kv[2] + 0
      }
      n++; T[n] = tps; A[n] = avg; M = mx
    }
    END {
      if (n == 0) { print "{\"tps\":null,\"avg_ms\":null,\"max_ms\":null,\"windows\":0}"; exit }
      s = (n > 1) ? 2 : 1; st = 0; sa = 0
      for (i = s; i <= n; i++) { st += T[i]; sa += A[i] }
      k = n - s + 1
      printf "{\"tps\":%.1f,\"avg_ms\":%.3f,\"max_ms\":%d,\"windows\":%d}\n", st / k, sa / k, M, k
    }' "$1"
}

# java_consumer_figures LOG: JSON {tps, e2e_avg_ms, e2e_max_ms, windows} from the official
# Consumer's "Consume TPS: N | AVG(B2C) RT(ms): x | ... | MAX(B2C) RT(ms): N" lines: the windows
# with traffic, without the first and last (partly idle) when there are three or more.
java_consumer_figures() {
  awk -F'|' '
    /Consume TPS:/ {
      for (i = 1; i <= NF; i++) {
        split($i, kv, ":")
        if ($i ~ /Consume TPS/) tps = kv[2] + 0
        if ($i ~ /AVG\(B2C\)/) avg = kv[2] + 0
        if ($i ~ /MAX\(B2C\)/) mx = kv[2] + 0
      }
      if (tps > 0) { n++; T[n] = tps; A[n] = avg; if (mx > M) M = mx }
    }
    END {
      if (n == 0) { print "{\"tps\":null,\"e2e_avg_ms\":null,\"e2e_max_ms\":null,\"windows\":0}"; exit }
      s = 1; e = n
      if (n >= 3) { s = 2; e = n - 1 }
      st = 0; sa = 0
      for (i = s; i <= e; i++) { st += T[i]; sa += A[i] }
      k = e - s + 1
      printf "{\"tps\":%.1f,\"e2e_avg_ms\":%.3f,\"e2e_max_ms\":%d,\"windows\":%d}\n", st / k, sa / k, M + 0, k
    }' "$1"
}
