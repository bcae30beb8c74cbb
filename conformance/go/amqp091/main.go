// Conformance driver for amqp091-go (Debian's golang-github-rabbitmq-amqp091-go-dev, built
// offline in GOPATH mode): the client's own TestChannelExceptionWithCloseIssue43, the same
// race repeated with other channels closing and opening concurrently, and a confirmed
// publish/consume round trip. Prints one JSON line per step; exits 1 on the first failure.
// Usage: go run main.go <amqp-url> <name-prefix>
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func emit(event string, fields map[string]interface{}) {
	if fields == nil {
		fields = map[string]interface{}{}
	}
	fields["event"] = event
	b, _ := json.Marshal(fields)
	fmt.Println(string(b))
}

func fail(step string, err error) {
	emit("error", map[string]interface{}{"step": step, "error": fmt.Sprint(err)})
	os.Exit(1)
}

// watchConnection records a connection.close the broker sends (the races must not cause one).
func watchConnection(conn *amqp.Connection) *[]string {
	closes := &[]string{}
	var mu sync.Mutex
	ch := conn.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		for e := range ch {
			mu.Lock()
			*closes = append(*closes, e.Error())
			mu.Unlock()
		}
	}()
	return closes
}

// issue43 is amqp091-go's TestChannelExceptionWithCloseIssue43, step for step.
func issue43(conn *amqp.Connection, prefix string) {
	c1, err := conn.Channel()
	if err != nil {
		fail("issue43: open c1", err)
	}
	c2, err := conn.Channel()
	if err != nil {
		fail("issue43: open c2", err)
	}
	// An asynchronous channel exception: the server's channel.close crosses the client's.
	if err := c1.Publish(prefix+"-nonexisting-exchange", "", false, false, amqp.Publishing{}); err != nil {
		fail("issue43: publish", err)
	}
	c1.Close()
	if err := c2.ExchangeDeclare(prefix+"-still-exists", "direct", false, true, false, false, nil); err != nil {
		fail("issue43: c2 declare after c1's exception", err)
	}
	c2.Close()
	emit("issue43", map[string]interface{}{"ok": true})
}

// racingOpens: a channel error, while other channels close and new ones open concurrently.
func racingOpens(conn *amqp.Connection, prefix string, rounds int) {
	for r := 0; r < rounds; r++ {
		victim, err := conn.Channel()
		if err != nil {
			fail(fmt.Sprintf("round %d: open victim", r), err)
		}
		bystander, err := conn.Channel()
		if err != nil {
			fail(fmt.Sprintf("round %d: open bystander", r), err)
		}
		// 404: the server closes the victim.
		_, err = victim.QueueDeclarePassive(fmt.Sprintf("%s-missing-%d", prefix, r), false, false, false, false, nil)
		if err == nil {
			fail(fmt.Sprintf("round %d: passive declare of a missing queue", r), fmt.Errorf("no error"))
		}
		if e, ok := err.(*amqp.Error); !ok || e.Code != 404 {
			fail(fmt.Sprintf("round %d: expected 404", r), err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bystander.Close(); err != nil {
				errs <- fmt.Errorf("close bystander: %w", err)
			}
		}()
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := conn.Channel()
				if err != nil {
					errs <- fmt.Errorf("open: %w", err)
					return
				}
				if _, err := ch.QueueDeclare("", false, true, true, false, nil); err != nil {
					errs <- fmt.Errorf("declare: %w", err)
					return
				}
				if err := ch.Close(); err != nil {
					errs <- fmt.Errorf("close: %w", err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			fail(fmt.Sprintf("round %d", r), e)
		}
	}
	emit("racing_opens", map[string]interface{}{"rounds": rounds})
}

// publishConsume: confirmed publishes, then a consumer acks them all, in order.
func publishConsume(conn *amqp.Connection, prefix string, n int) {
	ch, err := conn.Channel()
	if err != nil {
		fail("publish/consume: open", err)
	}
	q, err := ch.QueueDeclare(prefix+"-pubsub", false, true, false, false, nil)
	if err != nil {
		fail("publish/consume: declare", err)
	}
	if err := ch.Confirm(false); err != nil {
		fail("publish/consume: confirm.select", err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("m%d", i)
		if err := ch.Publish("", q.Name, false, false, amqp.Publishing{ContentType: "text/plain", Body: []byte(body)}); err != nil {
			fail("publish/consume: publish", err)
		}
	}
	acked := 0
	for i := 0; i < n; i++ {
		select {
		case c := <-confirms:
			if c.Ack {
				acked++
			}
		case <-time.After(10 * time.Second):
			fail("publish/consume: confirms", fmt.Errorf("only %d of %d confirmed", i, n))
		}
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		fail("publish/consume: consume", err)
	}
	bodies := []string{}
	for len(bodies) < n {
		select {
		case d := <-deliveries:
			bodies = append(bodies, string(d.Body))
			if err := d.Ack(false); err != nil {
				fail("publish/consume: ack", err)
			}
		case <-time.After(10 * time.Second):
			fail("publish/consume: deliveries", fmt.Errorf("got %d of %d", len(bodies), n))
		}
	}
	if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
		fail("publish/consume: delete", err)
	}
	ch.Close()
	emit("publish_consume", map[string]interface{}{"acked": acked, "bodies": bodies})
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: main <amqp-url> <name-prefix>")
		os.Exit(2)
	}
	url, prefix := os.Args[1], os.Args[2]
	conn, err := amqp.Dial(url)
	if err != nil {
		fail("dial", err)
	}
	closes := watchConnection(conn)
	issue43(conn, prefix)
	racingOpens(conn, prefix, 20)
	publishConsume(conn, prefix, 10)
	if conn.IsClosed() {
		fail("connection", fmt.Errorf("closed by the broker: %v", *closes))
	}
	if err := conn.Close(); err != nil {
		fail("connection close", err)
	}
	emit("done", nil)
}
