#!/usr/bin/env bash
# Imports Topoflow's index patterns, visualizations and dashboard (topoflow.ndjson) into
# OpenSearch Dashboards, replacing earlier copies of the same objects.
# Usage: deploy/dashboards/import.sh [DASHBOARDS_URL]     (default http://localhost:5601)
#   DASHBOARDS_AUTH=user:password   basic authentication, when the security plugin is on
set -euo pipefail

url="${1:-${DASHBOARDS_URL:-http://localhost:5601}}"
url="${url%/}"
file="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/topoflow.ndjson"
auth=()
if [[ -n "${DASHBOARDS_AUTH:-}" ]]; then auth=(--user "$DASHBOARDS_AUTH"); fi

# Dashboards answers 503 while it starts: retry for about a minute before giving up.
response="$(curl --silent --show-error --fail-with-body \
  --retry 20 --retry-delay 3 --retry-connrefused \
  "${auth[@]}" \
  -X POST "$url/api/saved_objects/_import?overwrite=true" \
  -H 'osd-xsrf: true' \
  --form "file=@$file")" || { echo "import.sh: POST $url/api/saved_objects/_import failed: $response" >&2; exit 1; }

if [[ "$response" != *'"success":true'* ]]; then
  echo "import.sh: Dashboards refused some objects: $response" >&2
  exit 1
fi
count="$(sed -n 's/.*"successCount":\([0-9]*\).*/\1/p' <<<"$response")"
echo "Imported ${count:-the} saved objects from topoflow.ndjson into $url (dashboard: Topoflow overview)"
