#!/usr/bin/env bash
# A Spark standalone cluster on this machine, from the installed pyspark: one master and N
# one-core workers, all on 127.0.0.1 (UIs included), every pid file, log, work and temp folder under DIR.
#
#   scripts/spark_cluster.sh start N DIR   # prints the master URL as its last line
#   scripts/spark_cluster.sh stop DIR      # stops them by process id
#
# PYTHON: the Python with the project installed (default: .venv/bin/python); its pyspark is used,
# and executors start their Python workers with it. MEMORY: each worker's memory (default 2g).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$here/.venv/bin/python}"

usage() { echo "usage: $0 start N DIR | stop DIR" >&2; exit 2; }

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop() {
  local dir="$1"
  [ -d "$dir/pids" ] || return 0
  for pid_file in "$dir"/pids/*.pid; do
    [ -f "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      # A worker's executors and their Python workers are its descendants: stop them first.
      pkill -TERM -P "$pid" 2>/dev/null || true
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for _ in $(seq 50); do
    alive=0
    for pid_file in "$dir"/pids/*.pid; do
      [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid_file in "$dir"/pids/*.pid; do
    [ -f "$pid_file" ] || continue
    kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"
  done
}

start() {
  local n="$1" dir="$2"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: expected a number of workers >= 1, got '$n'" >&2; exit 2; }
  mkdir -p "$dir"/{pids,logs,local,tmp}
  dir="$(cd "$dir" && pwd)"
  SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null)" || {
    echo "error: $PYTHON has no pyspark (pip install .[spark])" >&2; exit 1; }
  export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$dir/local" TMPDIR="$dir/tmp"
  export PYSPARK_PYTHON="$PYTHON" SPARK_PID_DIR="$dir/pids" SPARK_LOG_DIR="$dir/logs"
  export SPARK_DAEMON_JAVA_OPTS="-Djava.io.tmpdir=$dir/tmp"
  cat > "$dir/spark-defaults.conf" <<CONF
spark.master.rest.enabled false
spark.worker.cleanup.enabled false
CONF
  local port ui
  port=$(free_port); ui=$(free_port)
  # Started as direct children: spark-class execs java, so \$! is the JVM's pid.
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" \
    --webui-port "$ui" --properties-file "$dir/spark-defaults.conf" > "$dir/logs/master.log" 2>&1 &
  echo $! > "$dir/pids/master.pid"
  local url="spark://127.0.0.1:$port"
  for i in $(seq "$n"); do
    mkdir -p "$dir/work$i"
    ui=$(free_port)
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker "$url" --host 127.0.0.1 --cores 1 \
      --memory "${MEMORY:-2g}" --webui-port "$ui" --work-dir "$dir/work$i" \
      --properties-file "$dir/spark-defaults.conf" > "$dir/logs/worker$i.log" 2>&1 &
    echo $! > "$dir/pids/worker$i.pid"
  done
  for _ in $(seq 120); do
    registered=$(cat "$dir"/logs/worker*.log 2>/dev/null | grep -c "Successfully registered with master" || true)
    [ "${registered:-0}" -ge "$n" ] && { echo "$url"; return 0; }
    if ! kill -0 "$(cat "$dir/pids/master.pid")" 2>/dev/null; then
      echo "error: the Spark master exited (log: $dir/logs/master.log)" >&2; stop "$dir"; exit 1
    fi
    sleep 0.5
  done
  echo "error: $n workers did not register with $url within 60 s (logs: $dir/logs)" >&2
  stop "$dir"
  exit 1
}

case "${1:-}" in
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
