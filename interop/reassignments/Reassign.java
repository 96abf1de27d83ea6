import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.PartitionReassignment;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * The Java AdminClient's reassignment calls against a four-broker goqueue cluster: a partition
 * created on [1, 2, 3] is moved to [4, 2, 1] (alterPartitionReassignments), watched with
 * listPartitionReassignments until describeTopics shows the target; a cancel with no move and a
 * target naming a broker twice are refused with Kafka's exceptions; electLeaders(PREFERRED)
 * moves leadership to the replica a reordering made preferred; electLeaders(UNCLEAN) is refused.
 * One line per step on stdout. Usage: java -cp <classpath> Reassign.java <bootstrap>
 */
public class Reassign {
  public static void main(String[] args) throws Exception {
    Properties common = new Properties();
    common.put("bootstrap.servers", args[0]);
    try (Admin admin = Admin.create(common)) {
      String topic = "reassign-" + System.nanoTime();
      TopicPartition partition = new TopicPartition(topic, 0);
      admin.createTopics(List.of(new NewTopic(topic, Map.of(0, List.of(1, 2, 3))))).all().get();
      waitForLeader(admin, partition);
      System.out.println("created " + ids(describe(admin, partition).replicas()));

      admin.alterPartitionReassignments(
          Map.of(partition, Optional.of(new NewPartitionReassignment(List.of(4, 2, 1))))).all().get();
      Map<TopicPartition, PartitionReassignment> listed =
          admin.listPartitionReassignments().reassignments().get();
      PartitionReassignment moving = listed.get(partition);
      System.out.println("listed " + (moving == null ? "already done"
          : "replicas " + moving.replicas() + " adding " + moving.addingReplicas()
              + " removing " + moving.removingReplicas()));
      for (int attempt = 0; ; attempt++) {
        boolean listedNone = admin.listPartitionReassignments().reassignments().get().isEmpty();
        List<Integer> replicas = ids(describe(admin, partition).replicas());
        if (listedNone && replicas.equals(List.of(4, 2, 1))) {
          System.out.println("moved " + replicas);
          break;
        }
        if (attempt > 600) throw new IllegalStateException("move not done: " + replicas);
        Thread.sleep(100);
      }

      System.out.println("cancel-without-move " + failure(() ->
          admin.alterPartitionReassignments(Map.of(partition, Optional.empty())).all().get()));
      System.out.println("broker-twice " + failure(() ->
          admin.alterPartitionReassignments(
              Map.of(partition, Optional.of(new NewPartitionReassignment(List.of(4, 4, 2))))).all().get()));

      // Whichever replica does not lead becomes preferred (a reordering), then is elected.
      int leader = waitForLeader(admin, partition);
      int other = leader == 2 ? 1 : 2;
      List<Integer> reordered = new java.util.ArrayList<>(List.of(other));
      for (int id : List.of(4, 2, 1)) if (id != other) reordered.add(id);
      admin.alterPartitionReassignments(
          Map.of(partition, Optional.of(new NewPartitionReassignment(reordered)))).all().get();
      for (int attempt = 0; ; attempt++) {
        Optional<Throwable> outcome = admin.electLeaders(ElectionType.PREFERRED, Set.of(partition))
            .partitions().get().get(partition);
        String name = outcome.map(error -> error.getClass().getSimpleName()).orElse("none");
        if (!name.equals("PreferredLeaderNotAvailableException")) {
          System.out.println("elect-preferred " + name);
          break;
        }
        if (attempt > 100) throw new IllegalStateException("preferred replica never caught up");
        Thread.sleep(200);
      }
      for (int attempt = 0; waitForLeader(admin, partition) != other; attempt++) {
        if (attempt > 300) throw new IllegalStateException("leader not " + other);
        Thread.sleep(100);
      }
      System.out.println("leader-is-preferred true");
      Optional<Throwable> unclean = admin.electLeaders(ElectionType.UNCLEAN, Set.of(partition))
          .partitions().get().get(partition);
      System.out.println("elect-unclean " + unclean.map(error -> error.getClass().getSimpleName()).orElse("none"));
    }
  }

  interface Call {
    void run() throws Exception;
  }

  static String failure(Call call) {
    try {
      call.run();
      return "none";
    } catch (ExecutionException error) {
      return error.getCause().getClass().getSimpleName();
    } catch (Exception error) {
      return error.getClass().getSimpleName();
    }
  }

  static TopicPartitionInfo describe(Admin admin, TopicPartition partition) throws Exception {
    TopicDescription description =
        admin.describeTopics(List.of(partition.topic())).allTopicNames().get().get(partition.topic());
    return description.partitions().get(partition.partition());
  }

  static int waitForLeader(Admin admin, TopicPartition partition) throws Exception {
    for (int attempt = 0; ; attempt++) {
      Node leader = describe(admin, partition).leader();
      if (leader != null && leader.id() >= 0) return leader.id();
      if (attempt > 300) throw new IllegalStateException("no leader for " + partition);
      Thread.sleep(100);
    }
  }

  static List<Integer> ids(List<Node> nodes) {
    return nodes.stream().map(Node::id).collect(Collectors.toList());
  }
}
