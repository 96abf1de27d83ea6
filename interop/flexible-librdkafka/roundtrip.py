"""librdkafka (confluent-kafka) on the versions it negotiates with goqueue: create a topic,
produce, a consumer group that commits, a second group's commit, both groups' offsets and
ListOffsets MAX_TIMESTAMP. Prints the versions it sent (its protocol debug log) and one result
line.  Usage: python3 roundtrip.py <host:port>"""
import logging
import re
import sys
import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

bootstrap = sys.argv[1]
topic = f"rdkafka-{time.time_ns()}"
group, other = f"group-{topic}", f"other-{topic}"
count = 20
sent = set()


class VersionsSent(logging.Handler):
    """Collects "Sent <Api>Request (v<n>, ..." from librdkafka's protocol debug log."""

    def emit(self, record):
        match = re.search(r"Sent (\w+)Request \(v(\d+)", record.getMessage())
        if match:
            sent.add(f"sent {match.group(1)} v{match.group(2)}")


logger = logging.getLogger("rdkafka")
logger.setLevel(logging.DEBUG)
logger.addHandler(VersionsSent())
common = {"bootstrap.servers": bootstrap, "debug": "protocol", "logger": logger}

admin = AdminClient(common)
for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
    future.result(30)

producer = Producer(common)
for i in range(count):
    producer.produce(topic, key=str(i), value=f"v{i}", partition=i % 2)
assert producer.flush(30) == 0

consumer = Consumer({**common, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe([topic])
consumed = 0
deadline = time.time() + 60
while consumed < count and time.time() < deadline:
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        consumed += 1
consumer.commit(asynchronous=False)
consumer.close()

admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(other, [TopicPartition(topic, 0, 3)])])[other].result(30)
sums = {}
for name in (group, other):
    answered = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(name)])[name].result(30)
    sums[name] = sum(partition.offset for partition in answered.topic_partitions)
listed = admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.max_timestamp()})[TopicPartition(topic, 0)].result(30)

for line in sorted(sent):
    print(line)
print(f"list-offsets max-timestamp offset {listed.offset} timestamp {listed.timestamp}")
print(f"result produced {count} consumed {consumed} committed-offsets-sum {sums[group]} other-group-sum {sums[other]}")
