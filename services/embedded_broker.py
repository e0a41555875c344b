"""The embedded broker of `make run` with nothing set: kombu's filesystem transport, made safe to read.

kombu's transport creates a message file, then locks and writes it, while a
consumer renames and reads any file it lists, lock or no lock: a worker that
lists the folder between the two reads an empty or half-written message, and
its consumer dies of the JSON error (seen when a worker queued a send task a
moment before polling). Here a message is written under a name the consumer
skips, then renamed to its real name, which is atomic on one filesystem.
"""

import os
import uuid
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


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


class Transport(filesystem.Transport):
    Channel = Channel
