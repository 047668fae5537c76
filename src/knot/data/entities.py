"""What the data area stores about datasets and their versions, as Pydantic models
shared by the SDK, the CLI and the REST API."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ColumnSchema", "Dataset", "DatasetVersion", "VersionStatus"]


class _Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings", frozen=True)


class VersionStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ColumnSchema(_Model):
    """One column as stored: its Arrow type, Knot's kind for it, and for categorical
    columns the categories seen."""

    name: str
    type: str = Field(description="the Arrow type, e.g. int64, string, timestamp[us]")
    kind: str = Field(
        description="integer, float, decimal, string, boolean, timestamp, date, "
        "categorical, binary or other"
    )
    nullable: bool = True
    categories: list[str] | None = None


class Dataset(_Model):
    name: str
    description: str | None = None
    created_at: int
    created_by: str
    versions: int = 0
    latest: int | None = None
    aliases: dict[str, int] = Field(default_factory=dict)
    has_rules: bool = False


class DatasetVersion(_Model):
    """One immutable version: Parquet content named by its digest."""

    name: str
    version: int
    digest: str
    rows: int
    size: int = Field(description="bytes of the stored Parquet file")
    columns: list[ColumnSchema]
    status: VersionStatus = VersionStatus.ACCEPTED
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    created_at: int
    created_by: str
    run_id: str | None = None
    report_id: str | None = Field(
        default=None, description="the validation report that decided the status, if any"
    )

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def column(self, name: str) -> ColumnSchema | None:
        return next((c for c in self.columns if c.name == name), None)
