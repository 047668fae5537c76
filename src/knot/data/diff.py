"""What changed between two dataset versions: the schema, the row count, and each
column's statistics, with the changes big enough to look at marked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from knot.data.entities import DatasetVersion
from knot.data.profile import ColumnProfile, Profile

__all__ = ["ColumnChange", "DatasetDiff", "StatChange", "diff_versions"]

#: a statistic that moved by more than this fraction of its old size is marked changed
RELATIVE_CHANGE = 0.1
#: a null fraction that moved by more than this many points is marked changed
NULL_FRACTION_CHANGE = 0.01
_STATS = ("null_fraction", "distinct", "mean", "std", "min", "max")


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class ColumnChange(_Model):
    """A schema change of one column: added, removed, type, nullable or categories."""

    column: str
    change: str
    before: str | None = None
    after: str | None = None


class StatChange(_Model):
    column: str
    stat: str
    before: float | str | None
    after: float | str | None
    changed: bool


class DatasetDiff(_Model):
    a: str
    b: str
    rows_before: int
    rows_after: int
    same_content: bool
    schema_changes: list[ColumnChange] = Field(default_factory=list)
    stats: list[StatChange] = Field(default_factory=list)

    @property
    def changed_stats(self) -> list[StatChange]:
        return [s for s in self.stats if s.changed]


def diff_versions(a: DatasetVersion, pa: Profile, b: DatasetVersion, pb: Profile) -> DatasetDiff:
    changes: list[ColumnChange] = []
    before = {c.name: c for c in a.columns}
    after = {c.name: c for c in b.columns}
    for name, col in after.items():
        if name not in before:
            changes.append(ColumnChange(column=name, change="added", after=col.type))
    for name, old in before.items():
        new = after.get(name)
        if new is None:
            changes.append(ColumnChange(column=name, change="removed", before=old.type))
            continue
        if old.type != new.type:
            changes.append(
                ColumnChange(column=name, change="type", before=old.type, after=new.type)
            )
        if old.nullable != new.nullable:
            changes.append(
                ColumnChange(
                    column=name,
                    change="nullable",
                    before=str(old.nullable),
                    after=str(new.nullable),
                )
            )
        if old.categories is not None and new.categories is not None:
            gone = [c for c in old.categories if c not in new.categories]
            came = [c for c in new.categories if c not in old.categories]
            if gone or came:
                changes.append(
                    ColumnChange(
                        column=name,
                        change="categories",
                        before=", ".join(gone) or None,
                        after=", ".join(came) or None,
                    )
                )
    stats = []
    for name in before:
        old_p, new_p = pa.column(name), pb.column(name)
        if name in after and old_p is not None and new_p is not None:
            stats.extend(_stat_changes(name, old_p, new_p))
    return DatasetDiff(
        a=a.ref,
        b=b.ref,
        rows_before=a.rows,
        rows_after=b.rows,
        same_content=a.digest == b.digest,
        schema_changes=changes,
        stats=stats,
    )


def _stat_changes(name: str, old: ColumnProfile, new: ColumnProfile) -> list[StatChange]:
    out = []
    for stat in _STATS:
        x, y = getattr(old, stat), getattr(new, stat)
        if x is None and y is None:
            continue
        out.append(
            StatChange(column=name, stat=stat, before=x, after=y, changed=_changed(stat, x, y))
        )
    return out


def _changed(stat: str, x: object, y: object) -> bool:
    if x is None or y is None:
        return True
    if isinstance(x, int | float) and isinstance(y, int | float):
        if stat == "null_fraction":
            return abs(y - x) > NULL_FRACTION_CHANGE
        scale = max(abs(x), abs(y))
        return scale > 0 and abs(y - x) / scale > RELATIVE_CHANGE
    return x != y
