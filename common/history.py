"""django-simple-history's HistoricalRecords, with its manager class built once instead of on every access.

simple_history's descriptor calls `HistoryManager.from_queryset()` each time
`instance.history` is read, and it reads it for every history row it writes:
each call builds a new class by walking the queryset's members with
`inspect`, about a tenth of a triage's CPU. The class it builds depends only
on its arguments, so it is made once per (manager, queryset) pair.
"""

from functools import cache

from simple_history.manager import HistoryManager as LibraryHistoryManager
from simple_history.models import HistoricalRecords as LibraryHistoricalRecords


class HistoryManager(LibraryHistoryManager):
    @classmethod
    @cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(LibraryHistoricalRecords):
    def __init__(self, *args, history_manager=HistoryManager, **kwargs) -> None:
        super().__init__(*args, history_manager=history_manager, **kwargs)
