#!/usr/bin/env python3
"""A one-stop system talking to the hub over plain AMQP (no nameko): what a Java or .NET client does, in Python.

    python examples/amqp_client.py --amqp amqp://guest:guest@127.0.0.1:5672/ --token sandbox-demo-token \\
        submit '{"id": "hs-001", "type": "demo.ping", "payload": {"text": "queue: xin chào"}}'
    python examples/amqp_client.py ... call '{"type": "demo.echo", "payload": {"text": "Bạn có nghe không?"}}'
    python examples/amqp_client.py ... events --client demo --count 1

The contract (README, "Client systems on the bus"):
  request  -> exchange "hub.submit", routing key "submit" | "call", content_type application/json,
              header "authorization: Bearer <token>", reply_to + correlation_id to receive the answer
  answer   <- on reply_to: the HTTP API's body plus "status_code" (202 accepted, 200 answered, 4xx/5xx problem)
  events   <- queue "hub.events.<client>" (durable): the canonical message as JSON; ack after processing
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue


def request(url: str, token: str, kind: str, envelope: dict, timeout: float = 30) -> dict:
    answers: list[dict] = []
    correlation = str(uuid.uuid4())
    with Connection(url, connect_timeout=5) as conn:
        channel = conn.channel()
        reply_queue = Queue(f"client.reply.{correlation}", exclusive=True, auto_delete=True, durable=False)

        def on_answer(body, message):  # noqa: ANN001
            if message.properties.get("correlation_id") == correlation:
                answers.append(json.loads(body) if isinstance(body, (str, bytes)) else body)
            message.ack()

        with Consumer(channel, queues=[reply_queue], callbacks=[on_answer], accept=["json"]):
            Producer(channel).publish(json.dumps(envelope, ensure_ascii=False),
                                      exchange=Exchange("hub.submit", type="direct", durable=True), routing_key=kind,
                                      content_type="application/json", content_encoding="utf-8",
                                      headers={"authorization": f"Bearer {token}"},
                                      reply_to=reply_queue.name, correlation_id=correlation, delivery_mode=2)
            while not answers:
                conn.drain_events(timeout=timeout)
    return answers[0]


def events(url: str, client: str, count: int, timeout: float = 30) -> list[dict]:
    got: list[dict] = []
    queue = Queue(f"hub.events.{client}", exchange=Exchange("hub.events", type="direct", durable=True),
                  routing_key=client, durable=True)
    with Connection(url, connect_timeout=5) as conn:
        def on_event(body, message):  # noqa: ANN001
            got.append(json.loads(body) if isinstance(body, (str, bytes)) else body)
            message.ack()  # after processing: an event is never lost if the client dies first

        with Consumer(conn.channel(), queues=[queue], callbacks=[on_event], accept=["json"]):
            while len(got) < count:
                conn.drain_events(timeout=timeout)
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--token", default="")
    sub = parser.add_subparsers(dest="command", required=True)
    for kind in ("submit", "call"):
        sub.add_parser(kind).add_argument("envelope")
    ev = sub.add_parser("events")
    ev.add_argument("--client", required=True)
    ev.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    if args.command == "events":
        for event in events(args.amqp, args.client, args.count):
            print(json.dumps(event, ensure_ascii=False))
        return 0
    answer = request(args.amqp, args.token, args.command, json.loads(args.envelope))
    print(json.dumps(answer, ensure_ascii=False))
    return 0 if answer.get("status_code", 500) < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
