// Command franzgo runs franz-go against a broker on the versions they negotiate: create a topic,
// produce, a consumer group that commits, a second group's commit, both groups' offsets in one
// OffsetFetch, and a ListOffsets for the record with the largest timestamp. It prints the
// versions it wrote (its own debug log, "wrote <API> v<n>") and one result line.
//
//	go run . <host:port>
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func main() {
	bootstrap := os.Args[1]
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	reader, writer := io.Pipe()
	versions := collectVersions(reader)
	logger := kgo.BasicLogger(writer, kgo.LogLevelDebug, nil)
	topic := fmt.Sprintf("franz-%d", time.Now().UnixNano())
	group, other := "group-"+topic, "other-"+topic
	const count = 20

	admin, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.WithLogger(logger))
	must(err)
	create := kmsg.NewPtrCreateTopicsRequest()
	created := kmsg.NewCreateTopicsRequestTopic()
	created.Topic, created.NumPartitions, created.ReplicationFactor = topic, 2, 1
	create.Topics = append(create.Topics, created)
	createResponse, err := create.RequestWith(ctx, admin)
	must(err)
	must(errorOf(createResponse.Topics[0].ErrorCode))

	producer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic), kgo.WithLogger(logger))
	must(err)
	for i := 0; i < count; i++ {
		must(producer.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint("v", i))}).FirstErr())
	}
	producer.Close()

	consumer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.WithLogger(logger))
	must(err)
	consumed := 0
	for consumed < count && ctx.Err() == nil {
		fetches := consumer.PollFetches(ctx)
		must(fetches.Err0())
		consumed += fetches.NumRecords()
	}
	must(consumer.CommitUncommittedOffsets(ctx))
	consumer.Close()

	// A second group by a standalone commit, then both groups in one OffsetFetch.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = other, -1
	committedTopic := kmsg.NewOffsetCommitRequestTopic()
	committedTopic.Topic = topic
	// From v10 topics go by id (the name is not on the wire); CreateTopics v7 answered it.
	committedTopic.TopicID = createResponse.Topics[0].TopicID
	committedPartition := kmsg.NewOffsetCommitRequestTopicPartition()
	committedPartition.Partition, committedPartition.Offset = 0, 3
	committedTopic.Partitions = append(committedTopic.Partitions, committedPartition)
	commit.Topics = append(commit.Topics, committedTopic)
	commitResponse, err := commit.RequestWith(ctx, admin)
	must(err)
	must(errorOf(commitResponse.Topics[0].Partitions[0].ErrorCode))

	fetch := kmsg.NewPtrOffsetFetchRequest()
	for _, name := range []string{group, other} {
		requested := kmsg.NewOffsetFetchRequestGroup()
		requested.Group = name
		fetch.Groups = append(fetch.Groups, requested)
	}
	fetchResponse, err := fetch.RequestWith(ctx, admin)
	must(err)
	sums := map[string]int64{}
	for _, answered := range fetchResponse.Groups {
		must(errorOf(answered.ErrorCode))
		for _, t := range answered.Topics {
			for _, p := range t.Partitions {
				sums[answered.Group] += p.Offset
			}
		}
	}

	list := kmsg.NewPtrListOffsetsRequest()
	listed := kmsg.NewListOffsetsRequestTopic()
	listed.Topic = topic
	listedPartition := kmsg.NewListOffsetsRequestTopicPartition()
	listedPartition.Partition, listedPartition.Timestamp = 0, -3
	listed.Partitions = append(listed.Partitions, listedPartition)
	list.Topics = append(list.Topics, listed)
	listResponse, err := list.RequestWith(ctx, admin)
	must(err)
	maxTimestamp := listResponse.Topics[0].Partitions[0]
	must(errorOf(maxTimestamp.ErrorCode))
	admin.Close()
	writer.Close()

	for _, line := range <-versions {
		fmt.Println(line)
	}
	fmt.Printf("list-offsets max-timestamp offset %d timestamp %d\n", maxTimestamp.Offset, maxTimestamp.Timestamp)
	fmt.Printf("result produced %d consumed %d committed-offsets-sum %d other-group-sum %d\n",
		count, consumed, sums[group], sums[other])
}

// collectVersions reads the debug log and answers, once it ends, "API vN" per version written.
func collectVersions(log io.Reader) <-chan []string {
	done := make(chan []string, 1)
	wrote := regexp.MustCompile(`wrote (\w+) v(\d+)`)
	go func() {
		seen := map[string]bool{}
		scanner := bufio.NewScanner(log)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			if match := wrote.FindStringSubmatch(scanner.Text()); match != nil {
				seen["wrote "+match[1]+" v"+match[2]] = true
			}
		}
		lines := make([]string, 0, len(seen))
		for line := range seen {
			lines = append(lines, line)
		}
		sort.Strings(lines)
		done <- lines
	}()
	return done
}

func errorOf(code int16) error {
	if code == 0 {
		return nil
	}
	return fmt.Errorf("error code %d", code)
}

func must(err error) {
	if err != nil {
		fmt.Println("failed", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}
