// Command transactions starts a transactional producer of franz-go or sarama against a broker
// and prints one line: "failed <elapsed ms> <error>" or "succeeded <elapsed ms>".
//
//	go run . <franz-go|sarama> <host:port> <timeout ms>
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	client, bootstrap := os.Args[1], os.Args[2]
	timeoutMs, err := strconv.Atoi(os.Args[3])
	if err != nil {
		panic(err)
	}
	timeout := time.Duration(timeoutMs) * time.Millisecond
	started := time.Now()
	switch client {
	case "franz-go":
		err = franz(bootstrap, timeout)
	case "sarama":
		err = saramaProducer(bootstrap, timeout)
	default:
		panic("unknown client " + client)
	}
	elapsedMs := time.Since(started).Milliseconds()
	if err != nil {
		fmt.Printf("failed %d %s\n", elapsedMs, strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Printf("succeeded %d\n", elapsedMs)
}

// franz loads the producer id (FindCoordinator, InitProducerId) and produces one record in a
// transaction; the context bounds the wait.
func franz(bootstrap string, timeout time.Duration) error {
	client, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.TransactionalID("interop-transactions"),
		kgo.DefaultProduceTopic("interop-transactions"),
		kgo.AllowAutoTopicCreation(),
	)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := client.BeginTransaction(); err != nil {
		return err
	}
	if err := client.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		return err
	}
	return client.EndTransaction(ctx, kgo.TryCommit)
}

// saramaProducer creates a transactional producer (sarama finds the transaction coordinator and
// initializes the producer id while constructing it) in a goroutine bounded by the timeout.
func saramaProducer(bootstrap string, timeout time.Duration) error {
	config := sarama.NewConfig()
	config.Version = sarama.V2_8_0_0
	config.Producer.Idempotent = true
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Net.MaxOpenRequests = 1
	config.Producer.Transaction.ID = "interop-transactions"
	done := make(chan error, 1)
	go func() {
		producer, err := sarama.NewSyncProducer([]string{bootstrap}, config)
		if err != nil {
			done <- err
			return
		}
		defer producer.Close()
		if err := producer.BeginTxn(); err != nil {
			done <- err
			return
		}
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "interop-transactions", Value: sarama.StringEncoder("x")}); err != nil {
			done <- err
			return
		}
		done <- producer.CommitTxn()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("still waiting after %s (timed out by the interop check)", timeout)
	}
}
