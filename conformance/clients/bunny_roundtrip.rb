# Bunny (Debian ruby-bunny): publish with publisher confirms and a header table, then pop and
# subscribe to read it back; one JSON event per line. Usage: bunny_roundtrip.rb URL NAME
require 'bunny'
require 'json'

def emit(event, fields = {})
  puts JSON.generate({ event: event }.merge(fields))
  $stdout.flush
end

url, name = ARGV
headers = { 'big' => 2**40, 'neg' => -2**40, 'small' => 7, 's' => 'text', 'nested' => { 'n' => 2**33, 't' => 'x' }, 'arr' => [1, 2**35, 'x'] }
conn = Bunny.new(url, automatically_recover: false, log_level: :error)
conn.start
ch = conn.create_channel
ch.confirm_select
q = ch.queue(name, auto_delete: false)
ch.default_exchange.publish('hello', routing_key: name, headers: headers, content_type: 'text/plain', persistent: true)
emit('confirmed', ok: ch.wait_for_confirms, nacked: ch.nacked_set.to_a)
_info, props, body = q.pop
emit('get', body: body, headers: props.headers, content_type: props.content_type)
ch.default_exchange.publish('again', routing_key: name, headers: headers)
got = Queue.new
consumer = q.subscribe(manual_ack: true) do |info, p, b|
  ch.ack(info.delivery_tag)
  got << [b, p.headers]
end
b, h = got.pop
consumer.cancel
emit('consumed', body: b, headers: h)
q.delete
conn.close
emit('done')
