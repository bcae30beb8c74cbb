// A consumer-group member with amqp091-go, for conformance/stream-groups.clients.test.ts:
// consumes every partition of a super stream with x-consumer-group, prints one JSON line per
// processed message and per basic.cancel from the server (a partition taken away), and
// consumes that partition again at once to stand by for it. Runs until killed.
//
//	streamgroup URL SUPER_STREAM PARTITIONS GROUP
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

var out sync.Mutex

func emit(fields map[string]interface{}) {
	out.Lock()
	defer out.Unlock()
	b, _ := json.Marshal(fields)
	fmt.Println(string(b))
}

func main() {
	url, super, group := os.Args[1], os.Args[2], os.Args[4]
	partitions, _ := strconv.Atoi(os.Args[3])
	conn, err := amqp.Dial(url)
	if err != nil {
		emit(map[string]interface{}{"event": "error", "text": err.Error()})
		os.Exit(1)
	}
	ch, err := conn.Channel()
	if err != nil {
		emit(map[string]interface{}{"event": "error", "text": err.Error()})
		os.Exit(1)
	}
	if err := ch.Qos(20, 0, false); err != nil {
		emit(map[string]interface{}{"event": "error", "text": err.Error()})
		os.Exit(1)
	}
	cancels := ch.NotifyCancel(make(chan string, 16))
	var mu sync.Mutex
	streamOf := map[string]string{}
	subscribe := func(stream string) {
		tag := fmt.Sprintf("%s-%s", stream, strconv.FormatInt(int64(len(streamOf))+1, 10))
		deliveries, err := ch.Consume(stream, tag, false, false, false, false, amqp.Table{"x-consumer-group": group, "x-stream-offset": "first"})
		if err != nil {
			emit(map[string]interface{}{"event": "error", "text": err.Error()})
			os.Exit(1)
		}
		mu.Lock()
		streamOf[tag] = stream
		mu.Unlock()
		go func() {
			for d := range deliveries {
				var m struct {
					Key string `json:"key"`
					Seq int    `json:"seq"`
				}
				_ = json.Unmarshal(d.Body, &m)
				emit(map[string]interface{}{"event": "processed", "key": m.Key, "seq": m.Seq, "stream": stream})
				_ = d.Ack(false)
			}
		}()
	}
	for i := 0; i < partitions; i++ {
		subscribe(fmt.Sprintf("%s-%d", super, i))
	}
	emit(map[string]interface{}{"event": "ready"})
	for tag := range cancels {
		mu.Lock()
		stream := streamOf[tag]
		mu.Unlock()
		emit(map[string]interface{}{"event": "cancelled", "stream": stream})
		if stream != "" {
			subscribe(stream)
		}
	}
}
