import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Drives the Java client (kafka-clients) for interop/failover/run.ts, one mode per run:
 *
 * <pre>
 *   Failover produce &lt;bootstrap&gt; &lt;topic&gt; &lt;client&gt; &lt;partitions&gt; &lt;duration ms&gt;
 *   Failover consume &lt;bootstrap&gt; &lt;topic&gt; &lt;high watermark per partition, comma separated&gt;
 *   Failover group &lt;bootstrap&gt; &lt;topic&gt; &lt;group id&gt; &lt;pause per record ms&gt;
 * </pre>
 *
 * produce sends "&lt;client&gt;-&lt;seq&gt;" round-robin over the partitions every 2 ms for the duration
 * with an idempotent acks=all producer, printing one line per delivery report, "ok &lt;partition&gt;
 * &lt;offset&gt; &lt;value&gt;" or "fail &lt;value&gt; &lt;error&gt;", then "done". consume reads every partition
 * from its start up to the given high watermark, printing "rec &lt;partition&gt; &lt;offset&gt; &lt;value&gt;",
 * then "done". group is one member of a consumer group: it prints "rec ..." for each record it
 * processes (pausing after each, so the group is still consuming while brokers fail), commits
 * synchronously after each poll, and when its stdin closes commits once more, leaves the group and
 * prints "done".
 */
public final class Failover {
  /** Long enough for a partition to elect a new leader and a killed broker to restart on a
   * loaded machine: a record fails only when the broker really cannot take it. */
  private static final int DELIVERY_TIMEOUT_MS = 120_000;

  private static final PrintWriter output =
      new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out)), false);

  private static void say(String line) {
    synchronized (output) {
      output.println(line);
    }
  }

  private static void flush() {
    synchronized (output) {
      output.flush();
    }
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "produce" -> produce(args[1], args[2], args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]));
      case "consume" -> consume(args[1], args[2], args[3]);
      case "group" -> group(args[1], args[2], args[3], Long.parseLong(args[4]));
      default -> {
        System.err.println("unknown mode " + args[0]);
        System.exit(2);
      }
    }
    flush();
    System.exit(0);
  }

  private static String describe(Throwable error) {
    StringBuilder text = new StringBuilder(error.getClass().getSimpleName() + ": " + error.getMessage());
    for (Throwable cause = error.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause())
      text.append(" / ").append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
    return text.toString().replace('\n', ' ');
  }

  private static void produce(String bootstrap, String topic, String client, int partitions, long durationMs)
      throws InterruptedException {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    properties.put(ProducerConfig.ACKS_CONFIG, "all");
    properties.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    properties.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(DELIVERY_TIMEOUT_MS));
    // send() blocks while its buffer is full (a partition without a leader): as long as a delivery.
    properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(DELIVERY_TIMEOUT_MS));
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(properties)) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(durationMs);
      for (int seq = 0; System.nanoTime() < deadline; seq++) {
        String value = client + "-" + seq;
        producer.send(new ProducerRecord<>(topic, seq % partitions, null, value), (metadata, error) -> {
          if (error != null) say("fail " + value + " " + describe(error));
          else say("ok " + metadata.partition() + " " + metadata.offset() + " " + value);
        });
        flush();
        Thread.sleep(2);
      }
      producer.flush();
    }
    say("done");
  }

  private static Properties consumerProperties(String bootstrap, String groupId) {
    Properties properties = new Properties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    properties.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return properties;
  }

  private static void consume(String bootstrap, String topic, String watermarks) {
    Map<TopicPartition, Long> highs = new HashMap<>();
    String[] texts = watermarks.split(",");
    for (int partition = 0; partition < texts.length; partition++) {
      long high = Long.parseLong(texts[partition]);
      if (high > 0) highs.put(new TopicPartition(topic, partition), high);
    }
    Properties properties = consumerProperties(bootstrap, "interop-failover-" + System.nanoTime());
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(properties)) {
      consumer.assign(highs.keySet());
      consumer.seekToBeginning(highs.keySet());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!highs.isEmpty()) {
        if (System.nanoTime() > deadline) {
          System.err.println("consume timed out; partitions left: " + highs);
          flush();
          System.exit(1);
        }
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofSeconds(1)))
          say("rec " + record.partition() + " " + record.offset() + " " + record.value());
        // The position steps over control batches (goqueue writes one when a partition's leader
        // changes, maybe the last offset below the high watermark): the end is the position.
        List<TopicPartition> finished = new ArrayList<>();
        for (Map.Entry<TopicPartition, Long> entry : highs.entrySet())
          if (consumer.position(entry.getKey()) >= entry.getValue()) finished.add(entry.getKey());
        finished.forEach(highs::remove);
      }
    }
    say("done");
  }

  private static void group(String bootstrap, String topic, String groupId, long pauseMs) throws InterruptedException {
    AtomicBoolean stop = new AtomicBoolean(false);
    Thread watcher = new Thread(() -> {
      try {
        InputStream input = System.in;
        while (input.read() >= 0) {
          // Only the end of stdin matters.
        }
      } catch (IOException error) {
        // A broken stdin is the driver gone: stop as well.
      }
      stop.set(true);
    });
    watcher.setDaemon(true);
    watcher.start();
    Properties properties = consumerProperties(bootstrap, groupId);
    properties.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    properties.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "50");
    // About one batch per fetch, not the whole partition at once: the member then still fetches
    // while a partition's leader is down.
    properties.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, "1024");
    properties.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "1024");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(properties)) {
      consumer.subscribe(List.of(topic));
      while (!stop.get()) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<String, String> record : records) {
          say("rec " + record.partition() + " " + record.offset() + " " + record.value());
          flush();
          Thread.sleep(pauseMs);
        }
        commit(consumer);
      }
      commit(consumer);
    }
    say("done");
  }

  /** A failed commit is logged, not fatal: the next poll's commit covers it (at least once). */
  private static void commit(KafkaConsumer<String, String> consumer) {
    try {
      consumer.commitSync(Duration.ofSeconds(30));
    } catch (Exception error) {
      System.err.println("commit failed: " + describe(error));
    }
  }
}
