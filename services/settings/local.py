"""Development settings: the defaults of `make run` with nothing set."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
