#!/usr/bin/env bash
# Measures presage run over many services (issue 18): resident memory over
# time, step time (p50, p99) and CPU per step.
#
#   scripts/scale10k.sh sim [N] [SPEED] [DAYS]
#       presage run on the built-in simulator (source kind sim), N services
#       (default 10000) for DAYS simulated days (default 7) at -speed SPEED
#       (default 400: a week in 25 minutes).
#   scripts/scale10k.sh prometheus [N] [MINUTES]
#       presage sim serve exposes N services' series, a real Prometheus
#       (Debian's prometheus package) scrapes it every 30 s, and presage run
#       reads Prometheus (source kind prometheus, interval 30s) for MINUTES
#       of real time (default 25), acting through webhooks on sim serve.
#   scripts/scale10k.sh config N sim|prometheus [SIM_ADDR PROM_URL] > FILE
#       writes the configuration only.
#
# The services are those of testdata/replay.100.yaml: the example's two
# shapes (checkout, search) in turn, each with its own load and forecast
# seed. Every SAMPLE seconds (default 30) the script reads presage's
# /metrics and writes a line to OUT/samples.tsv; at the end it prints the
# step-time quantiles from presage_step_duration_seconds, overall and per
# sample window, and the CPU seconds per step. OUT defaults to a new
# temporary directory; PRESAGE to a presage built from this checkout.
set -euo pipefail

cd "$(dirname "$0")/.."

config() { # N KIND [SIM_ADDR PROM_URL]
	local n=$1 kind=$2 simaddr=${3:-} prom=${4:-}
	awk -v n="$n" -v kind="$kind" -v simaddr="$simaddr" -v prom="$prom" 'BEGIN {
	if (kind == "sim") {
		print "global: {interval: 1m, listen: \"\"}"
		sig = "{latency: {sim: latency_p99}, requests: {sim: requests}, pool_in_use: {sim: pool_in_use}, pool_limit: {sim: pool_limit}}"
	} else {
		# 30 s steps, and the week of one-minute steps as many entries.
		print "global: {interval: 30s, history: 84h, listen: \"\"}"
		print "source: {kind: prometheus, prometheus: {url: \"" prom "\", timeout: 25s}}"
		# The latency is the p99 of the plant itself (one series per service):
		# histogram_quantile over the 860,000 bucket series of 10,000
		# services took longer than the 25 s timeout on two shared cores.
		sig = "{latency: {query: \"max by (service) (presage_sim_latency_p99_seconds)\"}, requests: {query: \"sum by (service) (rate(presage_sim_requests_total[2m]))\"}, pool_in_use: {query: \"sum by (service) (presage_sim_pool_in_use)\"}, pool_limit: {query: \"sum by (service) (presage_sim_pool_limit)\"}}"
	}
	print "services:"
	for (i = 1; i <= n; i++) {
		k = int((i + 1) / 2)
		if (i % 2 == 1) {
			name = sprintf("checkout-%05d", k)
			print "  - name: " name
			print "    signals: " sig
			print "    incident: {above: 0.5, consecutive: 3}"
			print "    forecast: {horizon: 30m, period: 1d, refit: \"@hourly\", seed: " k "}"
			print "    playbook:"
			print "      - {name: async-queue, actuator: " act("queue") ", warmup: 1m, margin: 10m}"
			print "      - {name: read-replicas, actuator: " act("replicas") ", warmup: 5m, max: 3}"
			print "      - {name: neighbour-cpu, actuator: " act("cpu_limit") ", warmup: 2m, min: 0.4, max: 1, baseline: 1, engaged: 0.5}"
			print "    sim:"
			print "      plant: {app_capacity: 130, db_capacity: 90, replica_capacity: 40}"
			print "      load: {peak: 1.4, seed: " k ", daily: 0.5, bursts: 1, flash_crowds: 0}"
			if (kind != "sim") print "      knobs: {async-queue: queue, read-replicas: replicas, neighbour-cpu: cpu_limit}"
		} else {
			name = sprintf("search-%05d", k)
			print "  - name: " name
			print "    signals: " sig
			print "    incident: {above: 0.3, consecutive: 3}"
			print "    forecast: {horizon: 20m, refit: \"*/30 * * * *\", seed: " 1000 + k "}"
			print "    playbook:"
			print "      - {name: async-queue, actuator: " act("queue") ", warmup: 1m}"
			print "      - {name: read-replicas, actuator: " act("replicas") ", warmup: 5m, max: 2}"
			print "    sim:"
			print "      plant: {app_capacity: 80, db_capacity: 60, replica_capacity: 40, pool_size: 30, service_time: 0.03}"
			print "      load: {peak: 1.25, seed: " 1000 + k ", daily: 0.7, trend: 0.01, bursts: 1, flash_crowds: 0}"
			if (kind != "sim") print "      knobs: {async-queue: queue, read-replicas: replicas}"
		}
	}
	}
	function act(knob) {
		if (kind == "sim") return "{kind: sim, knob: " knob "}"
		return "{kind: webhook, webhook: {url: \"http://" simaddr "/actions\", timeout: 5s, retries: 1}}"
	}'
}

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port from $1" >&2
	exit 1
}

# sample URL: one line of RSS bytes, CPU seconds, steps, seconds in steps,
# then the step-duration histogram's cumulative bucket counts.
sample() {
	curl -fsS --max-time 20 "$1" | awk '
	/^process_resident_memory_bytes / { rss = $2 }
	/^process_cpu_seconds_total / { cpu = $2 }
	/^presage_step_duration_seconds_count / { n = $2 }
	/^presage_step_duration_seconds_sum / { sum = $2 }
	/^presage_step_duration_seconds_bucket/ { b = b " " $2 }
	END { printf "%s\t%s\t%s\t%s\t%s\n", rss, cpu, n, sum, b }'
}

# report: the quantiles of the step time between the first and the last
# sample, and per window of samples.
report() {
	local url=$1 out=$2
	curl -fsS "$url" | awk '/^presage_step_duration_seconds_bucket/ { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); printf "%s ", le }' >"$out/buckets"
	awk -v bounds="$(cat "$out/buckets")" -F'\t' '
	function q(p, d, nb,   i, tot, want, lo, hi, prev) {
		tot = d[nb]
		if (tot <= 0) return "-"
		want = p * tot; prev = 0
		for (i = 1; i <= nb; i++) {
			if (d[i] >= want) {
				lo = (i == 1) ? 0 : bb[i - 1]; hi = bb[i]
				if (hi == "+Inf") return ">" 1000 * lo
				return sprintf("%.1f", 1000 * (lo + (hi - lo) * (want - prev) / (d[i] - prev)))
			}
			prev = d[i]
		}
	}
	BEGIN { nb = split(bounds, bb, " ") }
	NR == 1 { next } # header
	{
		split($7, cur, " ")
		if (NR == 2) { for (i = 1; i <= nb; i++) first[i] = cur[i]; f2 = $2; f3 = $3; f4 = $4; f5 = $5 }
		if (NR > 2 && $5 > p5) {
			for (i = 1; i <= nb; i++) d[i] = cur[i] - prev[i]
			printf "%s\t%.2f h\tRSS %.0f MB\tsteps %d\tstep p50 %s ms p99 %s ms\tmean %.1f ms\tCPU/step %.1f ms\n", $1, $2 / 3600, $3 / 1048576, $5 - p5, q(0.5, d, nb), q(0.99, d, nb), 1000 * ($6 - p6) / ($5 - p5), 1000 * ($4 - p4) / ($5 - p5)
		}
		for (i = 1; i <= nb; i++) prev[i] = cur[i]
		p4 = $4; p5 = $5; p6 = $6; last4 = $4; last5 = $5; last6 = $6
		for (i = 1; i <= nb; i++) lastc[i] = cur[i]
	}
	END {
		for (i = 1; i <= nb; i++) d[i] = lastc[i]
		printf "whole run: %d steps, step p50 %s ms, p99 %s ms, mean %.1f ms, CPU/step %.1f ms\n", last5, q(0.5, d, nb), q(0.99, d, nb), 1000 * last6 / last5, 1000 * last4 / last5
	}' "$out/samples.tsv"
}

# watch PID URL OUT SECONDS VIRTUAL_PER_WALL: samples until SECONDS of wall
# time have passed or the process ends.
watch() {
	local pid=$1 url=$2 out=$3 secs=$4 speed=$5 every=${SAMPLE:-30} start now line
	start=$(date +%s)
	printf "wall\tvirtual_s\trss\tcpu\tsteps\tstep_sum\tbuckets\n" >"$out/samples.tsv"
	while kill -0 "$pid" 2>/dev/null; do
		now=$(date +%s)
		if line=$(sample "$url" 2>/dev/null) && [ -n "$line" ]; then
			printf "%s\t%s\t%s\n" "$(date -u +%H:%M:%S)" "$(((now - start) * speed))" "$line" >>"$out/samples.tsv"
		fi
		[ $((now - start)) -ge "$secs" ] && break
		sleep "$every"
	done
}

presage_bin() {
	if [ -n "${PRESAGE:-}" ]; then
		echo "$PRESAGE"
		return
	fi
	go build -o "$OUT/presage" ./cmd/presage
	echo "$OUT/presage"
}

mode=${1:-}
case $mode in
config)
	config "${2:?N}" "${3:?sim or prometheus}" "${4:-127.0.0.1:9798}" "${5:-http://127.0.0.1:9090}"
	exit 0
	;;
sim | prometheus) ;;
*)
	sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac

OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
bin=$(presage_bin)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
echo "results in $OUT; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

case $mode in
sim)
	n=${2:-10000} speed=${3:-400} days=${4:-7}
	port=$(free_port 19100)
	config "$n" sim >"$OUT/config.yaml"
	"$bin" run -config "$OUT/config.yaml" -policy plan -speed "$speed" -listen "127.0.0.1:$port" -log-level warn 2>"$OUT/presage.log" &
	pids+=($!)
	secs=$((days * 86400 / speed))
	watch "${pids[0]}" "http://127.0.0.1:$port/metrics" "$OUT" "$secs" "$speed"
	report "http://127.0.0.1:$port/metrics" "$OUT" | tee "$OUT/report.txt"
	;;
prometheus)
	n=${2:-10000} minutes=${3:-25}
	simport=$(free_port 19300)
	promport=$(free_port 19500)
	port=$(free_port 19700)
	config "$n" prometheus "127.0.0.1:$simport" "http://127.0.0.1:$promport" >"$OUT/config.yaml"
	"$bin" sim serve -config "$OUT/config.yaml" -listen "127.0.0.1:$simport" -log-level warn 2>"$OUT/sim.log" &
	pids+=($!)
	cat >"$OUT/prometheus.yml" <<EOF
global: {scrape_interval: 30s, scrape_timeout: 30s}
scrape_configs:
  - job_name: sim
    static_configs: [{targets: ['127.0.0.1:$simport']}]
EOF
	prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/tsdb" \
		--web.listen-address="127.0.0.1:$promport" --log.level=warn 2>"$OUT/prometheus.log" &
	pids+=($!)
	# Two scrapes, so that rate() has two points.
	sleep 70
	"$bin" run -config "$OUT/config.yaml" -policy plan -listen "127.0.0.1:$port" -log-level warn 2>"$OUT/presage.log" &
	pids+=($!)
	watch "${pids[2]}" "http://127.0.0.1:$port/metrics" "$OUT" $((minutes * 60)) 1
	report "http://127.0.0.1:$port/metrics" "$OUT" | tee "$OUT/report.txt"
	grep -E '^(process_resident_memory_bytes|process_cpu_seconds_total|prometheus_tsdb_head_series) ' \
		<(curl -fsS "http://127.0.0.1:$promport/metrics") | sed 's/^/prometheus: /' | tee -a "$OUT/report.txt"
	;;
esac
