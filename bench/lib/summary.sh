# shellcheck shell=bash
# Renders RESULTS/summary.md from the JSON lines bench/run.sh collected: runs.jsonl (one line per
# impl × flush × generator × threads), ready.jsonl, disk.jsonl and machine.md.

# jq helpers shared by the tables: "–" for a missing figure, fixed decimals otherwise.
JQ_FMT='def f(d): if . == null then "–" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
def i: if . == null then "–" else (. | round | tostring) end;
def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;'

render_summary() {
  local r=$1 out=$1/summary.md
  {
    echo "# rmq vs Apache RocketMQ 5.3.3 — benchmark summary"
    echo
    cat "$r/machine.md"
    echo
    echo "Settings: $(cat "$r/settings.txt" 2> /dev/null || echo unknown)"
    echo
    if [[ -s $r/runs.jsonl ]]; then
      echo "## Send, consume, CPU and memory"
      echo
      echo "Latencies in ms. Java generator: TPS and avg/max RT as the official tool reports them (mean of"
      echo "its 10 s windows after the first; no percentiles); when it printed no window (runs < 10 s), TPS is"
      echo "the broker-counted rate (stored/s). CPU = broker utime+stime over the run (producer and consumer) per"
      echo "million stored messages. RssAnon at the end of the run."
      echo
      echo "| impl | flush | generator | threads | send TPS | stored/s | avg | p50 | p99 | p999 | max | failed | consume TPS | e2e avg | e2e p99 | CPU s / 1M msgs | RssAnon MiB |"
      echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      jq -rs "$JQ_FMT"'
        sort_by(.flush, .generator, .threads, .impl)[]
        | "| \(.impl) | \(.flush) | \(.generator) | \(.threads) | \(.send_tps | i) | \(.stored_tps | i) | \(.lat_avg_ms | f(3))"
          + " | \(.lat_p50_ms | f(3)) | \(.lat_p99_ms | f(3)) | \(.lat_p999_ms | f(3)) | \(.lat_max_ms | f(1)) | \(.failed | i)"
          + " | \(.consume_tps | i) | \(.e2e_avg_ms | f(2)) | \(.e2e_p99_ms | f(2)) | \(.cpu_s_per_m | f(2)) | \(.rss_anon_mib | f(0)) |"' \
        "$r/runs.jsonl"
      echo
      echo "## rmq ÷ Apache (same flush, generator, threads)"
      echo
      echo "Targets: send TPS ≥ 2, p99 ≤ 0.5 (Rust generator; the Java tool has no percentiles), CPU per message ≤ 0.33, RssAnon ≤ 0.1."
      echo
      echo "| flush | generator | threads | send TPS × | avg RT × | p99 × | CPU/msg × | RssAnon × |"
      echo "|---|---|---|---:|---:|---:|---:|---:|"
      jq -rs "$JQ_FMT"'
        group_by([.flush, .generator, .threads])[]
        | (map(select(.impl == "rmq")) | first) as $o | (map(select(.impl == "apache")) | first) as $a
        | select($o != null and $a != null)
        | "| \($o.flush) | \($o.generator) | \($o.threads) | \(ratio($o.send_tps; $a.send_tps) | f(2))"
          + " | \(ratio($o.lat_avg_ms; $a.lat_avg_ms) | f(2)) | \(ratio($o.lat_p99_ms; $a.lat_p99_ms) | f(2))"
          + " | \(ratio($o.cpu_s_per_m; $a.cpu_s_per_m) | f(2)) | \(ratio($o.rss_anon_mib; $a.rss_anon_mib) | f(3)) |"' \
        "$r/runs.jsonl"
      echo
    fi
    if [[ -s $r/ready.jsonl ]]; then
      echo "## Time to ready (spawn → broker listed by the NameServer)"
      echo
      echo "| impl | flush | store | store size | ready ms |"
      echo "|---|---|---|---:|---:|"
      jq -rs "$JQ_FMT"'.[] | "| \(.impl) | \(.flush) | \(.store) | \(if .store_bytes > 0 then (.store_bytes / 1073741824 | f(2)) + " GiB" else "empty" end) | \(.ready_ms | f(1)) |"' \
        "$r/ready.jsonl"
      if [[ -s $r/eviction.txt ]]; then
        echo
        echo "Page cache before the 10 GiB restarts: $(paste -sd ';' "$r/eviction.txt")"
      fi
      echo
    fi
    if [[ -s $r/disk.jsonl ]]; then
      echo "## Disk: raw sequential write (dd, 1 MiB blocks)"
      echo
      echo "| mode | MiB | seconds | MiB/s |"
      echo "|---|---:|---:|---:|"
      jq -rs "$JQ_FMT"'.[] | "| \(.mode) | \(.bytes / 1048576 | i) | \(.seconds | f(2)) | \(.mib_per_s | f(0)) |"' "$r/disk.jsonl"
      if [[ -s $r/runs.jsonl ]]; then
        echo
        echo "Best rmq send TPS × message size as a fraction of the O_DIRECT bandwidth:"
        echo
        jq -rs --slurpfile disk "$r/disk.jsonl" "$JQ_FMT"'
          ($disk | map(select(.mode == "oflag=direct")) | first | .mib_per_s) as $bw
          | map(select(.impl == "rmq" and .send_tps != null)) | group_by(.flush)[]
          | max_by(.send_tps) as $b
          | "- \($b.flush): \($b.send_tps | i) msg/s × \($b.size) B = \($b.send_tps * $b.size / 1048576 | f(1)) MiB/s"
            + " = \(ratio($b.send_tps * $b.size / 1048576; $bw) | f(3)) of \($bw | f(0)) MiB/s (\($b.generator), \($b.threads) threads)"' \
          "$r/runs.jsonl"
      fi
      echo
    fi
    echo "Raw logs: \`logs/\`; raw figures: \`runs.jsonl\`, \`ready.jsonl\`, \`disk.jsonl\`."
  } > "$out"
}
