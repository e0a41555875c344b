import uuid

from django.db import models


class BaseModel(models.Model):
    """Opaque UUID ids (the contract's ids are strings) and creation/update times."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class BenchProbe(BaseModel):
    """The one row the benchmark floor writes per request (common/bench.py, routed only with BENCH_ENDPOINTS)."""

    name = models.CharField(max_length=64)
    value = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
