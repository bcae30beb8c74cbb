#!/usr/bin/perl
# AnyEvent::RabbitMQ (Debian libanyevent-rabbitmq-perl), which opens with the protocol header
# "AMQP 1 1 0 9": declare a queue, publish with a header table, basic.get it, publish again and
# consume it with an ack; one JSON event per line. Usage: anyevent_roundtrip.pl HOST PORT NAME
use strict;
use warnings;
use AnyEvent;
use AnyEvent::RabbitMQ;
use JSON::PP;

$| = 1;
my ($host, $port, $name) = @ARGV;
my $json = JSON::PP->new->canonical;
sub emit { my ($event, %f) = @_; print $json->encode({ event => $event, %f }), "\n"; }

my $done = AnyEvent->condvar;
my $timeout = AnyEvent->timer(after => 30, cb => sub { $done->croak('timed out') });
my $fail = sub { my $why = shift; $done->croak(ref $why ? $why->method_frame->reply_text : $why) };

my $ar = AnyEvent::RabbitMQ->new->load_xml_spec();
$ar->connect(
  host => $host, port => $port, user => 'guest', pass => 'guest', vhost => '/', timeout => 10,
  on_failure => $fail, on_read_failure => $fail, on_close => sub { },
  on_success => sub {
    my $ar = shift;
    emit('connected', server => $ar->server_properties->{product});
    $ar->open_channel(on_failure => $fail, on_close => sub { }, on_success => sub {
      my $ch = shift;
      $ch->declare_queue(queue => $name, auto_delete => 0, on_failure => $fail, on_success => sub {
        $ch->publish(exchange => '', routing_key => $name, body => 'hello',
          header => { content_type => 'text/plain', headers => { n => 7, s => 'text' } });
        $ch->get(queue => $name, no_ack => 1, on_failure => $fail, on_success => sub {
          my $frame = shift;
          my $h = $frame->{header};
          emit('get', body => $frame->{body}->payload, content_type => $h->content_type, headers => $h->headers);
          $ch->consume(queue => $name, no_ack => 0, on_failure => $fail,
            on_consume => sub {
              my $msg = shift;
              $ch->ack(delivery_tag => $msg->{deliver}->method_frame->delivery_tag);
              emit('consumed', body => $msg->{body}->payload);
              $ch->delete_queue(queue => $name, on_failure => $fail, on_success => sub {
                $ar->close(on_success => sub { $done->send }, on_failure => $fail);
              });
            },
            on_success => sub { $ch->publish(exchange => '', routing_key => $name, body => 'again') });
        });
      });
    });
  },
);
$done->recv;
emit('done');
