"""The embedded broker of `make run` with nothing set: kombu's filesystem transport, made safe to read.

kombu's transport creates a message file, then locks and writes it, while a
consumer renames and reads any file it lists, lock or no lock: a worker that
lists the folder between the two reads an empty or half-written message, and
its consumer dies of the JSON error (seen when a worker queued a send task a
moment before polling). Here a message is written under a name the consumer
skips, then renamed to its real name, which is atomic on one filesystem.

kombu's consumer also reads its queues in turn, one message from each; here
every poll starts from the first queue of CELERY_TASK_QUEUES, the red flags',
as kombu's Redis transport does with `queue_order_strategy` "priority".
"""

import os
import uuid
from queue import Empty
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps
from kombu.utils.scheduling import FairCycle


class QueuesInOrder(FairCycle):
    """Every poll tries the queues from the first, so a later queue is read only when those before it are empty."""

    def get(self, callback, **kwargs):
        self.pos = 0
        return super().get(callback, **kwargs)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # A consumer takes names ending in `.<queue>.msg`, in sorted order: kombu's own millisecond
        # prefix lets messages of one millisecond overtake each other; zero-padded nanoseconds do not.
        filename = os.path.join(self.data_folder_out, f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg")
        partial = f"{filename}.partial"
        try:
            with open(partial, "wb", buffering=0) as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, filename)
        except OSError as error:
            raise ChannelError(f"Cannot add file {filename!r} to directory") from error

    def _reset_cycle(self):
        self._cycle = QueuesInOrder(self._get_and_deliver, self._active_queues, Empty)


class Transport(filesystem.Transport):
    Channel = Channel
