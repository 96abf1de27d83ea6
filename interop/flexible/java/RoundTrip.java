import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The Java client against goqueue on the versions they negotiate: admin (create topic, describe
 * cluster), an idempotent producer, a consumer group that commits. Prints the client's own
 * record of the negotiated versions (NetworkClient's DEBUG line) and one result line.
 * Usage: java -cp <classpath> RoundTrip.java <bootstrap>
 */
public class RoundTrip {
  public static void main(String[] args) throws Exception {
    Logger network = Logger.getLogger("org.apache.kafka.clients.NetworkClient");
    network.setLevel(Level.FINE);
    ConsoleHandler handler = new ConsoleHandler();
    handler.setLevel(Level.FINE);
    network.addHandler(handler);
    String bootstrap = args[0];
    String topic = "flexible-" + System.nanoTime();
    int count = 20;
    Properties common = new Properties();
    common.put("bootstrap.servers", bootstrap);
    String clusterLine;
    try (Admin admin = Admin.create(common)) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
      DescribeClusterResult cluster = admin.describeCluster();
      clusterLine = "cluster " + cluster.clusterId().get() + " nodes " + cluster.nodes().get().size();
    }
    Properties producerProps = new Properties();
    producerProps.putAll(common);
    producerProps.put("acks", "all");
    producerProps.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    producerProps.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps)) {
      for (int i = 0; i < count; i++) producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get();
    }
    Properties consumerProps = new Properties();
    consumerProps.putAll(common);
    consumerProps.put("group.id", "group-" + topic);
    consumerProps.put("auto.offset.reset", "earliest");
    consumerProps.put("enable.auto.commit", "false");
    consumerProps.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    consumerProps.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    int consumed = 0;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps)) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + 60_000;
      while (consumed < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
          if (!record.value().equals("v" + record.key().substring(1))) throw new IllegalStateException("bad record " + record);
          consumed++;
        }
      }
      consumer.commitSync();
    }
    long committed;
    long otherCommitted;
    try (Admin admin = Admin.create(common)) {
      // A second group by a standalone commit (OffsetCommit with topic ids from v10), then both
      // groups' offsets in one call (one batched FindCoordinator, one OffsetFetch naming both).
      TopicPartition first = new TopicPartition(topic, 0);
      admin.alterConsumerGroupOffsets("other-" + topic, Map.of(first, new OffsetAndMetadata(3))).all().get();
      Map<String, Map<TopicPartition, OffsetAndMetadata>> both =
          admin
              .listConsumerGroupOffsets(
                  Map.of(
                      "group-" + topic, new ListConsumerGroupOffsetsSpec(),
                      "other-" + topic, new ListConsumerGroupOffsetsSpec()))
              .all()
              .get();
      committed = both.get("group-" + topic).values().stream().mapToLong(OffsetAndMetadata::offset).sum();
      otherCommitted = both.get("other-" + topic).get(first).offset();
      // ListOffsets lookups of the newer versions.
      for (Map.Entry<String, OffsetSpec> spec :
          Map.of(
                  "max-timestamp", OffsetSpec.maxTimestamp(),
                  "earliest-local", OffsetSpec.earliestLocal(),
                  "latest-tiered", OffsetSpec.latestTiered(),
                  "latest", OffsetSpec.latest())
              .entrySet()) {
        ListOffsetsResult.ListOffsetsResultInfo info =
            admin.listOffsets(Map.of(first, spec.getValue())).partitionResult(first).get();
        System.out.println("list-offsets " + spec.getKey() + " offset " + info.offset() + " timestamp " + info.timestamp());
      }
    }
    System.out.println("result " + clusterLine + " produced " + count + " consumed " + consumed + " committed-offsets-sum " + committed + " other-group-sum " + otherCommitted);
  }
}
