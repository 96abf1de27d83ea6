"""Starts a transactional librdkafka (confluent-kafka) producer against a broker and prints one
line: "failed <elapsed ms> <error>" or "succeeded <elapsed ms>".

    python3 librdkafka.py <host:port> <timeout ms>
"""

import sys
import time

from confluent_kafka import KafkaException, Producer

bootstrap, timeout_ms = sys.argv[1], int(sys.argv[2])
started = time.monotonic()
try:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "interop-transactions"})
    producer.init_transactions(timeout_ms / 1000)
    print(f"succeeded {int((time.monotonic() - started) * 1000)}")
except KafkaException as error:
    elapsed_ms = int((time.monotonic() - started) * 1000)
    detail = error.args[0]
    fatal = " (fatal)" if detail.fatal() else ""
    print(f"failed {elapsed_ms} {detail.name()}{fatal}: {detail.str()}".replace("\n", " "))
