"""Drives librdkafka (confluent-kafka) for interop/failover/run.ts, one mode per run:

    python3 librdkafka.py produce <bootstrap> <topic> <client> <partitions> <duration ms>
    python3 librdkafka.py consume <bootstrap> <topic> <high watermark per partition, comma separated>
    python3 librdkafka.py group <bootstrap> <topic> <group id> <pause per record ms>

produce sends "<client>-<seq>" round-robin over the partitions every 2 ms for the duration with
an idempotent producer and acks=all, printing one line per delivery report, "ok <partition>
<offset> <value>" or "fail <value> <error>", then "done". consume reads every partition from its
start up to the given high watermark, printing "rec <partition> <offset> <value>", then "done".
group is one member of a consumer group with auto commit: it prints "rec ..." for each record it
processes (pausing after each, so the group is still consuming while brokers fail), and when its
stdin closes leaves the group (committing what it processed) and prints "done".
"""

import sys
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

# Long enough for a partition to elect a new leader and a killed broker to restart on a loaded
# machine: a record fails only when the broker really cannot take it.
DELIVERY_TIMEOUT_MS = 120_000


def report(error, message):
    value = message.value().decode()
    if error is not None:
        print(f"fail {value} {error.name()}: {error.str()}".replace("\n", " "), flush=False)
    else:
        print(f"ok {message.partition()} {message.offset()} {value}", flush=False)


def produce(bootstrap, topic, client, partitions, duration_ms):
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            "message.timeout.ms": DELIVERY_TIMEOUT_MS,
        }
    )
    deadline = time.monotonic() + duration_ms / 1000
    seq = 0
    while time.monotonic() < deadline:
        value = f"{client}-{seq}"
        while True:
            try:
                producer.produce(topic, value=value.encode(), partition=seq % partitions, on_delivery=report)
                break
            except BufferError:
                # The local queue is full while a partition has no leader: wait for reports.
                producer.poll(0.1)
        seq += 1
        producer.poll(0)
        time.sleep(0.002)
    left = producer.flush((DELIVERY_TIMEOUT_MS + 30_000) / 1000)
    if left > 0:
        print(f"flush left {left} messages undelivered", file=sys.stderr)
    print("done", flush=True)


def consume(bootstrap, topic, watermarks):
    highs = {}
    for partition, text in enumerate(watermarks.split(",")):
        if int(text) > 0:
            highs[partition] = int(text)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"interop-failover-{time.time_ns()}",
            "enable.auto.commit": False,
            # goqueue writes a control batch when a partition's leader changes; it takes an
            # offset, maybe the last one below the high watermark, and is never delivered: the
            # end of a partition is its EOF event, not its last message.
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in highs])
    deadline = time.monotonic() + 180
    while highs:
        if time.monotonic() > deadline:
            print(f"consume timed out; partitions left: {highs}", file=sys.stderr)
            sys.exit(1)
        message = consumer.poll(1.0)
        if message is None:
            continue
        partition, offset = message.partition(), message.offset()
        if message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                if partition in highs and offset >= highs[partition]:
                    del highs[partition]
            else:
                print(f"consume error: {message.error()}", file=sys.stderr)
            continue
        print(f"rec {partition} {offset} {message.value().decode()}")
    consumer.close()
    print("done", flush=True)


def report_commit(error, partitions):
    if error is not None:
        print(f"commit failed: {error}", file=sys.stderr, flush=True)
    for partition in partitions:
        if partition.error is not None:
            print(f"commit of partition {partition.partition} failed: {partition.error}", file=sys.stderr, flush=True)


def group(bootstrap, topic, group_id, pause_ms):
    stop = threading.Event()

    def watch_stdin():
        # Only the end of stdin matters: the driver closes it to stop the member.
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            # Auto commit of the offsets of records poll() returned: a record is printed before
            # the next poll, so a commit never covers a record not processed (at least once).
            "enable.auto.commit": True,
            "auto.commit.interval.ms": 1000,
            "on_commit": report_commit,
            # Fetch about one batch at a time, not the whole partition at once: the member then
            # still fetches while a partition's leader is down.
            "message.max.bytes": 1000,
            "fetch.max.bytes": 1024,
            "max.partition.fetch.bytes": 1024,
            "queued.max.messages.kbytes": 1,
            "queued.min.messages": 1,
        }
    )
    consumer.subscribe([topic])
    while not stop.is_set():
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error() is not None:
            print(f"consume error: {message.error()}", file=sys.stderr, flush=True)
            continue
        print(f"rec {message.partition()} {message.offset()} {message.value().decode()}", flush=True)
        time.sleep(pause_ms / 1000)
    consumer.close()
    print("done", flush=True)


mode = sys.argv[1]
if mode == "produce":
    produce(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
elif mode == "consume":
    consume(sys.argv[2], sys.argv[3], sys.argv[4])
elif mode == "group":
    group(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
else:
    sys.exit(f"unknown mode {mode}")
