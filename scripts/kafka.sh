#!/usr/bin/env bash
# The real Apache Kafka broker for the Kafka transport's tests, the benchmark and local use.
#   bash scripts/kafka.sh fetch               copy the broker jars (pinned in scripts/kafka/pom.xml) from
#                                             Maven Central into ~/.cache/binlog-sync/kafka-VERSION/libs
#                                             (Maven caches them in ~/.m2; a second fetch is instant)
#   bash scripts/kafka.sh start [--brokers N] run a throwaway KRaft cluster on free 127.0.0.1 ports in the
#                                             foreground; prints its bootstrap servers; Ctrl-C stops it
# Tests start and stop their own clusters (src/local/kafka-cluster.ts); they only need `fetch`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VERSION=$(sed -n 's:.*<version>\(4\.[0-9.]*\)</version>.*:\1:p' scripts/kafka/pom.xml | head -1)
LIBS=${BINLOG_SYNC_KAFKA_LIBS:-$HOME/.cache/binlog-sync/kafka-$VERSION/libs}

fetch() {
  if ls "$LIBS"/kafka_2.13-"$VERSION".jar >/dev/null 2>&1; then
    echo "kafka: broker $VERSION jars in $LIBS" >&2
    return 0
  fi
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      echo "kafka: java or mvn is missing. Run: sudo apt-get install -y openjdk-17-jre-headless maven" >&2
      exit 1
    fi
    echo "kafka: installing Debian's openjdk-17-jre-headless and maven" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless maven >/dev/null
  fi
  echo "kafka: fetching Apache Kafka $VERSION from Maven Central into $LIBS" >&2
  rm -rf "$LIBS.partial"
  mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$LIBS.partial" >&2
  rm -rf "$LIBS"
  mv "$LIBS.partial" "$LIBS"
  echo "kafka: $(ls "$LIBS" | wc -l) jars, $(du -sh "$LIBS" | cut -f1)" >&2
}

case "${1:-}" in
  fetch) fetch ;;
  start)
    shift
    fetch
    [ -f dist/src/local/kafka-main.js ] || npm run -s build
    exec node dist/src/local/kafka-main.js "$@"
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
