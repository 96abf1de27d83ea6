import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The Java AdminClient's config calls against a three-broker goqueue cluster:
 * incrementalAlterConfigs on a topic (SET, APPEND to a list) and on the cluster-wide broker
 * resource, describeConfigs with synonyms and documentation, validateOnly, and the refusals
 * (unknown key, APPEND to a number, read-only broker key). One line per step on stdout.
 * Usage: java -cp <classpath> AlterConfigs.java <bootstrap>
 */
public class AlterConfigs {
  public static void main(String[] args) throws Exception {
    Properties common = new Properties();
    common.put("bootstrap.servers", args[0]);
    try (Admin admin = Admin.create(common)) {
      String name = "configs-" + System.nanoTime();
      admin.createTopics(List.of(new NewTopic(name, 1, (short) 3))).all().get();
      ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, name);
      ConfigResource cluster = new ConfigResource(ConfigResource.Type.BROKER, "");

      alter(admin, topic, List.of(
          op("retention.ms", "123456", AlterConfigOp.OpType.SET),
          op("cleanup.policy", "delete", AlterConfigOp.OpType.APPEND)), false);
      alter(admin, cluster, List.of(op("log.retention.bytes", "1048576", AlterConfigOp.OpType.SET)), false);
      Config described = describe(admin, topic);
      System.out.println("retention.ms " + line(described.get("retention.ms")));
      System.out.println("retention.bytes " + line(described.get("retention.bytes")));
      System.out.println("cleanup.policy " + line(described.get("cleanup.policy")));

      alter(admin, topic, List.of(op("retention.ms", "1", AlterConfigOp.OpType.SET)), true);
      System.out.println("after validate-only " + describe(admin, topic).get("retention.ms").value());

      System.out.println("unknown-key " + refusal(admin, topic, op("no.such.key", "1", AlterConfigOp.OpType.SET)));
      System.out.println("append-to-number "
          + refusal(admin, topic, op("retention.ms", "5", AlterConfigOp.OpType.APPEND)));
      System.out.println("read-only-broker-key "
          + refusal(admin, cluster, op("log.segment.bytes", "1048576", AlterConfigOp.OpType.SET)));

      alter(admin, topic, List.of(op("retention.ms", null, AlterConfigOp.OpType.DELETE)), false);
      System.out.println("after delete " + line(describe(admin, topic).get("retention.ms")));
    }
  }

  static AlterConfigOp op(String name, String value, AlterConfigOp.OpType type) {
    return new AlterConfigOp(new ConfigEntry(name, value), type);
  }

  static void alter(Admin admin, ConfigResource resource, Collection<AlterConfigOp> ops, boolean validateOnly)
      throws Exception {
    admin.incrementalAlterConfigs(Map.of(resource, ops), new AlterConfigsOptions().validateOnly(validateOnly))
        .all().get();
  }

  static Config describe(Admin admin, ConfigResource resource) throws Exception {
    DescribeConfigsOptions options = new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true);
    return admin.describeConfigs(List.of(resource), options).all().get().get(resource);
  }

  /** value, source, type, synonym sources, whether documentation came. */
  static String line(ConfigEntry entry) {
    return entry.value() + " " + entry.source() + " " + entry.type() + " synonyms "
        + entry.synonyms().stream().map(synonym -> synonym.source().toString()).toList()
        + (entry.documentation() == null || entry.documentation().isEmpty() ? " undocumented" : " documented");
  }

  static String refusal(Admin admin, ConfigResource resource, AlterConfigOp op) throws Exception {
    try {
      alter(admin, resource, List.of(op), false);
      return "accepted";
    } catch (ExecutionException error) {
      return error.getCause().getClass().getSimpleName() + ": " + error.getCause().getMessage();
    }
  }
}
