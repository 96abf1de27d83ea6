import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Starts a transactional producer against the broker in args[0] and prints one line:
 * "failed <elapsed ms> <exception class>: <message>" or "succeeded <elapsed ms>".
 * max.block.ms bounds how long initTransactions may wait (args[1], in ms).
 */
public final class Transactions {
  public static void main(String[] args) {
    Properties properties = new Properties();
    properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "interop-transactions");
    properties.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, args[1]);
    properties.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    properties.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    long started = System.nanoTime();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(properties)) {
      producer.initTransactions();
      System.out.println("succeeded " + (System.nanoTime() - started) / 1_000_000);
    } catch (Exception error) {
      long elapsedMs = (System.nanoTime() - started) / 1_000_000;
      Throwable cause = error;
      StringBuilder message = new StringBuilder(error.getClass().getName() + ": " + error.getMessage());
      while (cause.getCause() != null && cause.getCause() != cause) {
        cause = cause.getCause();
        message.append(" / caused by ").append(cause.getClass().getName()).append(": ").append(cause.getMessage());
      }
      System.out.println("failed " + elapsedMs + " " + message.toString().replace('\n', ' '));
    }
  }
}
