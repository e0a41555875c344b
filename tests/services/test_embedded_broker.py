"""The embedded broker (kombu's filesystem transport) never hands a consumer a message still being written,
and takes from a consumer's queues in their order, as the Redis transport does with the red flags' queue first."""

import uuid

import pytest
from kombu import Connection, Queue


def connection(folder, transport):
    return Connection("filesystem://", transport=transport, transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder), "processed_folder": str(folder / "done"),
        "control_folder": str(folder / "control"), "store_processed": False,
    })


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "done").mkdir()
    return tmp_path


@pytest.fixture
def name():
    """A queue of its own: kombu keeps the bindings it has made in memory, across connections."""
    return f"pages-{uuid.uuid4().hex}"


def test_messages_go_through_whole_and_in_order(folder, name):
    with connection(folder, "services.embedded_broker:Transport") as conn:
        queue = conn.SimpleQueue(name)
        for n in range(3):
            queue.put({"n": n})

        assert [queue.get(timeout=1).payload for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert not list(folder.glob("*.partial"))


def test_a_message_still_being_written_is_left_alone(folder, name):
    with connection(folder, "services.embedded_broker:Transport") as conn:
        queue = conn.SimpleQueue(name)
        (folder / f"1_{uuid.uuid4()}.{name}.msg.partial").write_bytes(b'{"body": "half')  # a writer mid-write

        queue.put({"n": 1})

        assert queue.get(timeout=1).payload == {"n": 1}
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.2)


def test_kombus_own_transport_hands_a_half_written_message_to_the_consumer(folder, name):
    """Why the embedded broker writes aside first: kombu names the file before it writes it."""
    with connection(folder, "filesystem") as conn:
        queue = conn.SimpleQueue(name)
        (folder / f"1_{uuid.uuid4()}.{name}.msg").write_bytes(b"")  # created, not yet written

        with pytest.raises(ValueError):  # json.JSONDecodeError: in a worker, its consumer dies
            queue.get(timeout=1)


def received_from_two_queues(folder, name, transport) -> list[str]:
    first, second = Queue(f"{name}-first"), Queue(f"{name}-second")
    received = []
    with connection(folder, transport) as conn:
        producer = conn.Producer()
        for queue in (second, second, first, first):
            producer.publish({"queue": queue.name}, routing_key=queue.name, declare=[queue])

        def take(body, message):
            received.append(body["queue"].rsplit("-", 1)[1])
            message.ack()

        with conn.Consumer([first, second], callbacks=[take]):
            for _ in range(4):
                conn.drain_events(timeout=1)
    return received


def test_a_consumer_of_two_queues_empties_the_first_before_it_reads_the_second(folder, name):
    assert received_from_two_queues(folder, name, "services.embedded_broker:Transport") == [
        "first", "first", "second", "second",
    ]


def test_kombus_own_transport_takes_from_the_queues_in_turn(folder, name):
    """Why the embedded broker orders its queues: a red flag would wait behind every other queue's next message."""
    assert received_from_two_queues(folder, name, "filesystem") == ["first", "second", "first", "second"]
