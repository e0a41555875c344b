"""Index operations that leave a big table open to reads and writes while they run, where the database can.

On PostgreSQL, `CREATE INDEX CONCURRENTLY` and `DROP INDEX CONCURRENTLY`:
a deploy that adds an index to a million assessments does not hold up the
intake for the seconds the build takes. Elsewhere (SQLite, for `make run`),
the plain statements, which that database runs at once. A migration using
them sets `atomic = False`, as PostgreSQL requires.

`ForeignKeyIndexDropped` drops a foreign key's own index, and not its
constraint, where another index leads with the same column.

And the steps of a patient's clinic copied onto a big table while the service
runs (`clinic_column_added`, then `clinic_column_required` in the next
migration): the column empty, a trigger filling it for an older release's
inserts, the rows stored before copied in short batches, then NOT NULL proven
from a validated check rather than under a lock held for a scan
(`RequireWithoutScanLock`). Applied migrations call these: change them only in
ways that leave what those migrations did the same.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import models, transaction
from django.db.migrations.operations import AddField, AddIndex, AlterField, RemoveIndex, RunPython
from django.db.models import OuterRef, Subquery


class _ConcurrentlyWherePossible:
    """The concurrent operation on PostgreSQL, the plain one elsewhere."""

    concurrent: type
    plain: type

    def _operation(self, schema_editor) -> type:
        return self.concurrent if schema_editor.connection.vendor == "postgresql" else self.plain

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._operation(schema_editor).database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._operation(schema_editor).database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexWithoutLocking(_ConcurrentlyWherePossible, AddIndexConcurrently):
    concurrent, plain = AddIndexConcurrently, AddIndex


class RemoveIndexWithoutLocking(_ConcurrentlyWherePossible, RemoveIndexConcurrently):
    concurrent, plain = RemoveIndexConcurrently, RemoveIndex



class RequireWithoutScanLock(AlterField):
    """AlterField from null to NOT NULL that, on PostgreSQL, keeps the table open to reads and writes meanwhile.

    Django's AlterField drops a foreign key, sets NOT NULL (an exclusive lock, held while it scans
    every row) and adds the key back (another scan). Here a CHECK (column IS NOT NULL) is added
    NOT VALID, then validated under a lock that lets reads and writes go on; SET NOT NULL then
    takes its exclusive lock only for a moment, PostgreSQL proving the column from the check
    instead of scanning; the check is dropped and the foreign key left as it is. Each step
    commits on its own: the migration sets `atomic = False`. Elsewhere, Django's AlterField.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        table, column, check = self._names(schema_editor, to_state.apps.get_model(app_label, self.model_name))
        for statement in (
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID",
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
            f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL",
            f"ALTER TABLE {table} DROP CONSTRAINT {check}",
        ):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        table, column, _ = self._names(schema_editor, from_state.apps.get_model(app_label, self.model_name))
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")

    def _names(self, schema_editor, model) -> tuple[str, str, str]:
        column = model._meta.get_field(self.name).column
        check = f"{model._meta.db_table}_{column}_not_null"[:63]
        return tuple(schema_editor.quote_name(name) for name in (model._meta.db_table, column, check))


class ForeignKeyIndexDropped(AlterField):
    """AlterField of a foreign key to `db_index=False` dropping its index, nothing else; concurrently on PostgreSQL.

    For a foreign key whose column leads another index already (a (patient, date) index serves every
    look-up by patient): the key's own index only costs each insert. Django's AlterField would also
    drop the foreign key constraint and add it back, which checks every row under a lock that holds
    up writes. Back, the index is built again (concurrently on PostgreSQL). The migration sets
    `atomic = False`, as PostgreSQL requires for concurrent statements.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        declared = {index.name for index in model._meta.indexes}
        concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
        for name in schema_editor._constraint_names(model, [column], index=True, type_=models.Index.suffix,
                                                    exclude=declared):
            schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {schema_editor.quote_name(name)}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
        # Django's own statement for a key's index: the same name the key had before.
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field(self.name)],
                                                              **concurrently))


COPY_BATCH_ROWS = 10_000


def _clinic_copier(model: str, *, via: str, source: str):
    """A RunPython function filling the empty `clinic` of `model` ("app.Model") from `source`'s row that `via` names.

    In batches along the primary key, each committed on its own (the RunPython and its migration
    are not atomic): a batch holds its rows for a moment, not the whole table for the whole copy,
    so that workers keep locking and updating rows (a triage, an escalation's next tier) meanwhile.
    """

    def copy(apps, schema_editor) -> None:
        rows, sources = apps.get_model(model), apps.get_model(source)
        clinic = Subquery(sources.objects.filter(pk=OuterRef(via)).values("clinic_id")[:1])
        after = None
        while True:
            keys = rows.objects.order_by("pk").values_list("pk", flat=True)
            batch = list((keys if after is None else keys.filter(pk__gt=after))[:COPY_BATCH_ROWS])
            if not batch:
                return
            with transaction.atomic(using=schema_editor.connection.alias):
                rows.objects.filter(pk__in=batch, clinic__isnull=True).update(clinic_id=clinic)
            after = batch[-1]

    return copy


def _clinic_filled_on_insert(model: str, *, via: str, source: str) -> RunPython:
    """On PostgreSQL, a trigger giving a row inserted without a clinic the clinic of `source`'s row that `via` names.

    For the rows an older release inserts while a deploy runs (it knows nothing of the column): they
    get their clinic from the database, so the column can be required before that release stops.
    Called only for a row without a clinic (`WHEN`): the current code sets it and pays nothing.
    Elsewhere (SQLite, one process for `make run`) nothing runs during a migration, and nothing is done.
    """

    def names(apps, schema_editor) -> tuple[str, str, str, str, str]:
        rows, sources = apps.get_model(model), apps.get_model(source)
        quote = schema_editor.quote_name
        return (quote(rows._meta.db_table), quote(f"{rows._meta.db_table}_clinic_filled"),
                quote(sources._meta.db_table), quote(sources._meta.pk.column),
                quote(rows._meta.get_field(via.removesuffix("_id")).column))

    def install(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table, trigger, source_table, source_key, via_column = names(apps, schema_editor)
        # Identifiers from the models' metadata, quoted by the schema editor; no value is interpolated.
        schema_editor.execute(f"""
            CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                SELECT clinic_id INTO NEW.clinic_id FROM {source_table} WHERE {source_key} = NEW.{via_column};
                RETURN NEW;
            END $$
        """)  # noqa: S608
        schema_editor.execute(f"""
            CREATE TRIGGER {trigger} BEFORE INSERT ON {table}
            FOR EACH ROW WHEN (NEW.clinic_id IS NULL) EXECUTE FUNCTION {trigger}()
        """)

    def uninstall(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table, trigger, *_ = names(apps, schema_editor)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {trigger}()")

    return RunPython(install, uninstall)


def _clinic_field(**options) -> models.ForeignKey:
    return models.ForeignKey(to="accounts.clinic", related_name="+", **options)


def clinic_column_added(model: str, *, via: str, source: str) -> list:
    """A migration's steps giving `model` ("app.Model") the clinic of `source`'s row that `via` names.

    The column, empty, on the model and on its django-simple-history table (rows written before
    keep an empty clinic there); the trigger for an older release's inserts; the rows stored before,
    filled in batches. The migration sets `atomic = False`; the next one requires the column.
    """
    model_name = model.split(".")[1].lower()
    return [
        AddField(model_name, "clinic", _clinic_field(db_index=False, null=True, on_delete=models.PROTECT)),
        AddField(f"historical{model_name}", "clinic",
                 _clinic_field(blank=True, db_constraint=False, null=True, on_delete=models.DO_NOTHING)),
        _clinic_filled_on_insert(model, via=via, source=source),
        RunPython(_clinic_copier(model, via=via, source=source), RunPython.noop),
    ]


def clinic_column_required(model: str, *, via: str, source: str) -> list:
    """The steps after `clinic_column_added`: the rows stored before its trigger filled, then the column required."""
    return [
        RunPython(_clinic_copier(model, via=via, source=source), RunPython.noop),
        RequireWithoutScanLock(model.split(".")[1].lower(), "clinic",
                               _clinic_field(db_index=False, on_delete=models.PROTECT)),
    ]
