// Command failover drives franz-go for interop/failover/run.ts, one mode per run:
//
//	failover produce <bootstrap> <topic> <client> <partitions> <durationMs>
//	failover consume <bootstrap> <topic> <high watermark per partition, comma separated>
//	failover group <bootstrap> <topic> <group id> <pause per record ms>
//
// produce sends "<client>-<seq>" round-robin over the partitions every 2 ms for durationMs with
// the idempotent producer (franz-go's default) and acks=all, printing one line per delivery
// report, "ok <partition> <offset> <value>" or "fail <value> <error>", then "done". consume reads
// every partition from its start up to the given high watermark, printing
// "rec <partition> <offset> <value>", then "done". group is one member of a consumer group: it
// prints "rec ..." for each record it processes (pausing after each), commits what it processed
// after each poll, and when its stdin closes commits once more, leaves the group and prints "done".
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Long enough for a partition to elect a new leader and a killed broker to restart on a
// loaded machine: a record fails only when the broker really cannot take it.
const deliveryTimeout = 120 * time.Second

var output = bufio.NewWriter(os.Stdout)
var outputLock sync.Mutex

func say(format string, args ...any) {
	outputLock.Lock()
	defer outputLock.Unlock()
	fmt.Fprintf(output, format+"\n", args...)
}

func main() {
	defer output.Flush()
	switch os.Args[1] {
	case "produce":
		partitions, err := strconv.Atoi(os.Args[5])
		must(err)
		durationMs, err := strconv.Atoi(os.Args[6])
		must(err)
		produce(os.Args[2], os.Args[3], os.Args[4], int32(partitions), time.Duration(durationMs)*time.Millisecond)
	case "consume":
		consume(os.Args[2], os.Args[3], os.Args[4])
	case "group":
		pauseMs, err := strconv.Atoi(os.Args[5])
		must(err)
		group(os.Args[2], os.Args[3], os.Args[4], time.Duration(pauseMs)*time.Millisecond)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		exit(2)
	}
}

func produce(bootstrap, topic, client string, partitions int32, duration time.Duration) {
	producer, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		kgo.ProducerLinger(0),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)),
	)
	must(err)
	ctx := context.Background()
	deadline := time.Now().Add(duration)
	ticker := time.NewTicker(2 * time.Millisecond)
	defer ticker.Stop()
	for seq := 0; time.Now().Before(deadline); seq++ {
		value := fmt.Sprintf("%s-%d", client, seq)
		record := &kgo.Record{Partition: int32(seq) % partitions, Value: []byte(value)}
		producer.Produce(ctx, record, func(record *kgo.Record, err error) {
			if err != nil {
				say("fail %s %s", value, strings.ReplaceAll(err.Error(), "\n", " "))
				return
			}
			say("ok %d %d %s", record.Partition, record.Offset, value)
		})
		<-ticker.C
	}
	flushContext, cancel := context.WithTimeout(ctx, deliveryTimeout+30*time.Second)
	defer cancel()
	if err := producer.Flush(flushContext); err != nil {
		fmt.Fprintln(os.Stderr, "flush:", err)
	}
	producer.Close()
	say("done")
}

func consume(bootstrap, topic, watermarks string) {
	highs := map[int32]int64{}
	offsets := map[int32]kgo.Offset{}
	for partition, text := range strings.Split(watermarks, ",") {
		high, err := strconv.ParseInt(text, 10, 64)
		must(err)
		if high > 0 {
			highs[int32(partition)] = high
			offsets[int32(partition)] = kgo.NewOffset().AtStart()
		}
	}
	consumer, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		// goqueue writes a control batch when a partition's leader changes; it takes an offset,
		// maybe the last one below the high watermark, so reading up to it means seeing it.
		kgo.KeepControlRecords(),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)),
	)
	must(err)
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	for len(highs) > 0 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "consume timed out; partitions left:", highs)
			exit(1)
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			fmt.Fprintf(os.Stderr, "fetch error %s %d: %v\n", topic, partition, err)
		})
		fetches.EachRecord(func(record *kgo.Record) {
			if !record.Attrs.IsControl() {
				say("rec %d %d %s", record.Partition, record.Offset, record.Value)
			}
			if high, ok := highs[record.Partition]; ok && record.Offset+1 >= high {
				delete(highs, record.Partition)
			}
		})
	}
	say("done")
}

func group(bootstrap, topic, groupID string, pause time.Duration) {
	stop := make(chan struct{})
	go func() {
		// Only the end of stdin matters: the driver closes it to stop the member.
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	member, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		// The assignor the librdkafka and Java members offer too (franz-go's default is cooperative-sticky only).
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Commits only what was processed, and no rebalance between a poll and its commit: a
		// partition moves with its processed records committed (at least once).
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// About one batch per fetch, not the whole partition at once: the member then still
		// fetches while a partition's leader is down.
		kgo.FetchMaxBytes(1024),
		kgo.FetchMaxPartitionBytes(1024),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil)),
	)
	must(err)
	ctx := context.Background()
	commit := func() {
		commitContext, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// A failed commit is logged, not fatal: the next one covers it (at least once).
		if err := member.CommitUncommittedOffsets(commitContext); err != nil {
			fmt.Fprintln(os.Stderr, "commit failed:", err)
		}
	}
	for {
		select {
		case <-stop:
			commit()
			member.AllowRebalance()
			member.Close()
			say("done")
			return
		default:
		}
		pollContext, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := member.PollRecords(pollContext, 50)
		cancel()
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(os.Stderr, "fetch error %s %d: %v\n", topic, partition, err)
			}
		})
		fetches.EachRecord(func(record *kgo.Record) {
			say("rec %d %d %s", record.Partition, record.Offset, record.Value)
			outputLock.Lock()
			output.Flush()
			outputLock.Unlock()
			time.Sleep(pause)
		})
		commit()
		member.AllowRebalance()
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		exit(1)
	}
}

// exit flushes what was printed so far: os.Exit skips the deferred flush.
func exit(code int) {
	outputLock.Lock()
	output.Flush()
	outputLock.Unlock()
	os.Exit(code)
}
