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
