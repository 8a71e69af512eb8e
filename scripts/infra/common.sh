# shellcheck shell=bash disable=SC2034
# Shared settings for the infra scripts. Sourced, never run.
# Everything lives under .cache/infra/ at the repo root (gitignored).

INFRA_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INFRA_CACHE="${TOPOFLOW_INFRA_CACHE:-$INFRA_REPO_ROOT/.cache/infra}"

KAFKA_VERSION="${TOPOFLOW_KAFKA_VERSION:-4.1.2}"
OPENSEARCH_VERSION="${TOPOFLOW_OPENSEARCH_VERSION:-2.19.4}"

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${TOPOFLOW_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${TOPOFLOW_KAFKA_CONTROLLER_PORT:-9093}"
OPENSEARCH_HOST=127.0.0.1
OPENSEARCH_PORT="${TOPOFLOW_OPENSEARCH_PORT:-9200}"
OPENSEARCH_TRANSPORT_PORT="${TOPOFLOW_OPENSEARCH_TRANSPORT_PORT:-9300}"

KAFKA_HOME="$INFRA_CACHE/kafka-$KAFKA_VERSION"
KAFKA_RUN="$INFRA_CACHE/run/kafka"
OPENSEARCH_HOME="$INFRA_CACHE/opensearch-$OPENSEARCH_VERSION"
OPENSEARCH_RUN="$INFRA_CACHE/run/opensearch"

# Kafka 4 and OpenSearch 2.19 both run on Java 17.
INFRA_JAVA_HOME="${TOPOFLOW_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
INFRA_JAVA="$INFRA_JAVA_HOME/bin/java"

infra_log () { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
infra_die () { infra_log "ERROR: $*"; exit 1; }

# Prints the pid in a pid file when that process is alive.
infra_live_pid () {
  local file="$1" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# True when something accepts TCP connections on host:port.
infra_port_open () {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Sends TERM, waits up to $3 seconds, then KILL. Waits until the process is gone.
infra_stop_pid () {
  local pid="$1" name="$2" grace="${3:-30}" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= grace * 5 )); then
      infra_log "$name did not stop in ${grace}s, killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

# Waits, a second at a time, until the command in $4... succeeds. Returns 1 as soon as process $1 has
# exited, 2 once more than $3 seconds have passed since $2 (a value of $SECONDS).
infra_wait_ready () {
  local pid="$1" started="$2" timeout="$3"
  shift 3
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || return 1
    if (( SECONDS - started > timeout )); then return 2; fi
    sleep 1
  done
}

# The status command of a service: NAME PID_FILE ADDRESS ENV_VAR NOT_READY PROBE...
# Prints ENV_VAR=ADDRESS when the process lives and PROBE succeeds; returns 1 when it lives but PROBE
# fails (logging "NAME pid P alive but ADDRESS NOT_READY"), 3 when it is stopped.
infra_status () {
  local name="$1" pid_file="$2" address="$3" env_var="$4" not_ready="$5" pid
  shift 5
  if pid="$(infra_live_pid "$pid_file")" && "$@"; then
    infra_log "$name running (pid $pid) on $address"
    echo "$env_var=$address"
  elif [[ -n "${pid:-}" ]]; then
    infra_log "$name pid $pid alive but $address $not_ready"
    return 1
  else
    infra_log "$name stopped"
    return 3
  fi
}
