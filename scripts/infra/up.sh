#!/usr/bin/env bash
# Fetches (if needed) and starts Kafka and OpenSearch, then prints where they listen as two lines a
# shell can eval: KAFKA_BROKERS=host:port and OPENSEARCH_URL=http://host:port (progress goes to stderr).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/infra/common.sh
source "$here/common.sh"

started=$SECONDS
bash "$here/fetch.sh"
opensearch_out="$(mktemp)"
trap 'rm -f "$opensearch_out"' EXIT
# Both JVMs start at once: OpenSearch is the slow one, Kafka fits in its shadow.
bash "$here/opensearch.sh" start >"$opensearch_out" &
opensearch_job=$!
kafka_rc=0 opensearch_rc=0
kafka_out="$(bash "$here/kafka.sh" start)" || kafka_rc=$?
wait "$opensearch_job" || opensearch_rc=$?
if (( kafka_rc != 0 || opensearch_rc != 0 )); then
  infra_die "infra did not start (kafka exit $kafka_rc, opensearch exit $opensearch_rc); scripts/infra/down.sh stops what did"
fi
# Started or adopted by hand now: test processes must leave these servers running at their exit.
rm -f "$KAFKA_RUN/started-by-tests" "$OPENSEARCH_RUN/started-by-tests"
infra_log "infra up in $((SECONDS - started))s"
# Only the address lines: they are this script's output.
printf '%s\n' "$kafka_out" | grep '^KAFKA_BROKERS='
grep '^OPENSEARCH_URL=' "$opensearch_out"
