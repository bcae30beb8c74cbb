<?php
// php-amqplib (Debian php-amqplib): publish with publisher confirms and a header table, then
// basic_get and basic_consume it back; one JSON event per line. Usage: phpamqplib_roundtrip.php URL NAME
require '/usr/share/php/PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPTable;

function emit(string $event, array $fields = []): void {
    echo json_encode(['event' => $event] + $fields), "\n";
    fflush(STDOUT);
}

[$_, $url, $name] = $argv;
$u = parse_url($url);
$vhost = isset($u['path']) && strlen($u['path']) > 1 ? urldecode(substr($u['path'], 1)) : '/';
$conn = new AMQPStreamConnection($u['host'], $u['port'] ?? 5672, urldecode($u['user'] ?? 'guest'), urldecode($u['pass'] ?? 'guest'), $vhost);
$ch = $conn->channel();
$acks = 0;
$nacks = 0;
$ch->set_ack_handler(function () use (&$acks) { $acks++; });
$ch->set_nack_handler(function () use (&$nacks) { $nacks++; });
$ch->confirm_select();
$ch->queue_declare($name, false, false, false, false);
$headers = ['big' => 2 ** 40, 'neg' => -(2 ** 40), 'small' => 7, 's' => 'text', 'nested' => ['n' => 2 ** 33, 't' => 'x'], 'arr' => [1, 2 ** 35, 'x']];
$msg = new AMQPMessage('hello', ['content_type' => 'text/plain', 'delivery_mode' => 2, 'application_headers' => new AMQPTable($headers)]);
$ch->basic_publish($msg, '', $name);
$ch->wait_for_pending_acks(10);
emit('confirmed', ['acks' => $acks, 'nacks' => $nacks]);
$m = $ch->basic_get($name, true);
emit('get', ['body' => $m->getBody(), 'headers' => $m->get('application_headers')->getNativeData(), 'content_type' => $m->get('content_type')]);
$ch->basic_publish(new AMQPMessage('again', ['application_headers' => new AMQPTable($headers)]), '', $name);
$got = null;
$ch->basic_consume($name, '', false, false, false, false, function ($m) use (&$got) {
    $got = $m;
    $m->ack();
});
while ($got === null) $ch->wait(null, false, 10);
emit('consumed', ['body' => $got->getBody(), 'headers' => $got->get('application_headers')->getNativeData()]);
$ch->queue_delete($name);
$ch->close();
$conn->close();
emit('done');
