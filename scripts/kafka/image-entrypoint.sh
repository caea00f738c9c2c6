#!/bin/sh
# Entry point of local/kafka (scripts/build-local-images.sh): a single KRaft node configured the way the
# official apache/kafka image is, by environment variables: KAFKA_NODE_ID=1 becomes node.id=1 (after
# KAFKA_: `___` is `-`, `__` is `_`, `_` is `.`, lower case). CLUSTER_ID names the cluster (default: the
# official image's fixed id, so a restarted container reuses its formatted log dir). KAFKA_HEAP_OPTS: JVM memory.
set -eu
CONF=/var/lib/kafka/server.properties
: "${KAFKA_LOG_DIRS:=/var/lib/kafka/data}"
export KAFKA_LOG_DIRS
env | grep '^KAFKA_' | grep -v -E '^KAFKA_(HEAP_OPTS|OPTS)=' | while IFS='=' read -r name value; do
  key=$(echo "${name#KAFKA_}" | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g' | tr 'A-Z' 'a-z')
  echo "$key=$value"
done >"$CONF"
CP="/opt/kafka/libs/*"
if [ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]; then
  java -cp "$CP" kafka.tools.StorageTool format -t "${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" -c "$CONF"
fi
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -cp "$CP" kafka.Kafka "$CONF"
