#!/usr/bin/env bash
# Fetches Apache Kafka (jars and runtime dependencies) and the OpenSearch integ-test distribution
# from Maven Central with mvn, into .cache/infra/. Skips whatever is already there.
set -euo pipefail
# shellcheck source=scripts/infra/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ -x "$INFRA_JAVA" ]] || infra_die "no Java 17 at $INFRA_JAVA_HOME (apt-get install openjdk-17-jdk-headless)"
mkdir -p "$INFRA_CACHE"

DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# The log4j2 version kafka-tools $KAFKA_VERSION brings in, so the binding matches log4j-core.
LOG4J_VERSION=2.25.3

# Runs mvn quietly; its output is shown only when it fails (Debian's mvn prints bare colour resets even in -q).
mvn_quiet () {
  command -v mvn >/dev/null || infra_die 'mvn not found (apt-get install maven)'
  local out
  if ! out="$(mvn --batch-mode --quiet --no-transfer-progress "$@" 2>&1)"; then
    printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' >&2
    return 1
  fi
}

fetch_kafka () {
  if [[ -f "$KAFKA_HOME/.complete" ]]; then
    infra_log "kafka $KAFKA_VERSION already fetched"
    return
  fi
  infra_log "fetching kafka $KAFKA_VERSION (kafka_2.13 + kafka-tools and their runtime dependencies)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME/libs"
  # A throwaway pom whose only job is to list Kafka's artifacts; mvn resolves the rest.
  cat >"$KAFKA_HOME/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>topoflow.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka logs through slf4j 1.7 and ships log4j-core without the binding; add it so broker logs reach a file. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  mvn_quiet -f "$KAFKA_HOME/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs"
  local count
  count="$(find "$KAFKA_HOME/libs" -name '*.jar' | wc -l)"
  (( count > 10 )) || infra_die "kafka fetch produced only $count jars"
  touch "$KAFKA_HOME/.complete"
  infra_log "kafka $KAFKA_VERSION: $count jars in $KAFKA_HOME/libs"
}

fetch_opensearch () {
  if [[ -f "$OPENSEARCH_HOME/.complete" ]]; then
    infra_log "opensearch $OPENSEARCH_VERSION already fetched"
    return
  fi
  infra_log "fetching opensearch $OPENSEARCH_VERSION (integ-test zip)"
  local staging="$INFRA_CACHE/opensearch-staging"
  rm -rf "$OPENSEARCH_HOME" "$staging"
  mkdir -p "$staging"
  mvn_quiet "$DEP_PLUGIN:copy" \
    -Dartifact="org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" \
    -DoutputDirectory="$staging"
  infra_log "unpacking opensearch $OPENSEARCH_VERSION"
  # The dependency plugin's unpack drops file modes, so unpack the zip with Java's own jar tool
  # when unzip is missing, and set the modes of the launch scripts afterwards.
  if command -v unzip >/dev/null; then
    unzip -q "$staging/opensearch-$OPENSEARCH_VERSION.zip" -d "$staging"
  else
    (cd "$staging" && "$INFRA_JAVA_HOME/bin/jar" xf "opensearch-$OPENSEARCH_VERSION.zip")
  fi
  mv "$staging/opensearch-$OPENSEARCH_VERSION" "$OPENSEARCH_HOME"
  rm -rf "$staging"
  chmod +x "$OPENSEARCH_HOME"/bin/*
  touch "$OPENSEARCH_HOME/.complete"
  infra_log "opensearch $OPENSEARCH_VERSION unpacked in $OPENSEARCH_HOME"
}

started=$SECONDS
fetch_kafka
fetch_opensearch
infra_log "fetch done in $((SECONDS - started))s"
