#!/usr/bin/env bash
# Stops Kafka and OpenSearch started by up.sh (or by the test resolver). Safe to run when nothing runs.
set -uo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
rc=0
bash "$here/kafka.sh" stop || rc=$?
bash "$here/opensearch.sh" stop || rc=$?
exit "$rc"
