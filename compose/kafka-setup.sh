#!/bin/bash
# One-shot job of compose/docker-compose.yml (service kafka-setup): creates
# the SCRAM-SHA-512 users of the ledger's services and the ACLs that bind
# each to its job. Runs as the broker super user over the BROKER listener.
# Idempotent: adding an existing ACL or setting a user's password again is a
# no-op or an update, so it runs on every `up` (and so applies a rotated
# password file).
#
# The grants, one per line of the table below (tests/compose/check_compose.py
# reads it): only api writes commands (the engine writes its claim records
# there too, see docs/kafka.md), only engine writes events and replies, the
# projector only reads.
set -euo pipefail

bootstrap=kafka-1:9094,kafka-2:9094,kafka-3:9094
admin_config=/run/secrets/kafka_broker_client
bin=/opt/kafka/bin

password_of() {  # the sasl.password line of a librdkafka options file
  sed -n 's/^sasl\.password=//p' "/run/secrets/kafka_$1" | head -n 1
}

for user in api engine projector; do
  pw=$(password_of "$user")
  if [ -z "$pw" ]; then echo "kafka-setup: /run/secrets/kafka_$user has no sasl.password" >&2; exit 1; fi
  "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$admin_config" --alter \
    --entity-type users --entity-name "$user" --add-config "SCRAM-SHA-512=[iterations=8192,password=$pw]" >/dev/null
done
unset pw

# acl USER OPERATION RESOURCE-TYPE PATTERN-TYPE NAME
acl() {
  local flag
  case "$3" in topic) flag=--topic ;; group) flag=--group ;; cluster) flag=--cluster ;; esac
  "$bin/kafka-acls.sh" --bootstrap-server "$bootstrap" --command-config "$admin_config" --add \
    --allow-principal "User:$1" --operation "$2" --resource-pattern-type "$4" $flag ${5:+"$5"} >/dev/null
}

while read -r user operation type pattern name; do
  [ -z "$user" ] || [ "${user:0:1}" = "#" ] && continue
  acl "$user" "$operation" "$type" "$pattern" "$name"
done <<'GRANTS'
# user      operation        type     pattern   name
api         Write            topic    literal   ledger.commands
api         Describe         topic    literal   ledger.commands
api         Read             topic    literal   ledger.replies
api         Read             topic    literal   ledger.events
api         Read             group    prefixed  ledger-api-
api         Read             group    prefixed  ledger-events-reader
engine      Read             topic    literal   ledger.commands
engine      Write            topic    literal   ledger.commands
engine      Write            topic    literal   ledger.events
engine      Read             topic    literal   ledger.events
engine      Write            topic    literal   ledger.replies
engine      Create           topic    prefixed  ledger.
engine      DescribeConfigs  topic    prefixed  ledger.
engine      Read             group    prefixed  ledger-engine
engine      Read             group    prefixed  ledger-events-reader
projector   Read             topic    literal   ledger.events
projector   Read             group    prefixed  ledger-events-reader
GRANTS

touch /tmp/kafka-setup.done
echo "kafka-setup: users and ACLs in place"
