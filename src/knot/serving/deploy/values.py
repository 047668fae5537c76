"""The values `knot deploy kubernetes` reads (a YAML file, options on top): what runs,
from which image, and which Kubernetes Secrets hold the store URL, the S3 keys and the
API token. Values only ever name Secrets; a password, key or token written here is
refused, so nothing secret reaches a plain manifest.

    namespace: knot
    image: registry.example.com/knot/runtime:0.4.0
    image_pull_secret: regcred              # a docker-registry Secret (optional)
    store:
      secret: {name: knot-store, key: url}  # postgresql://... -> KNOT_STORE
      components: database                  # or "server": serve/monitor/loop talk to it
    artifacts:
      uri: s3://knot-artifacts/team         # plain: no credentials in it
      endpoint: https://s3.example.com      # optional (S3-compatible stores)
      secret: knot-s3                       # keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    auth:
      enabled: true                         # knot server --auth
      token_secret: {name: knot-token, key: token}   # KNOT_TOKEN of in-cluster clients
    server: {replicas: 2}
    models:
      - ref: models:/churn@champion         # or oci://registry/repo:tag
        replicas: 2
        max_replicas: 6
        monitor: {schedule: "*/15 * * * *"}
        loop: {config: loop.yaml}           # the loop controller of this model
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "COMPACT_SCHEDULE",
    "ArtifactValues",
    "AuthValues",
    "DeployValues",
    "LoopValues",
    "ModelValues",
    "MonitorValues",
    "Resources",
    "SecretKey",
    "ServerValues",
    "StoreValues",
    "credential_paths",
    "kube_name",
]

# RFC 1123 names: what Kubernetes accepts for Services, Secrets and label values we make
#: when `knot logs compact` runs by default: hourly, off the hour's busy minute
COMPACT_SCHEDULE = "7 * * * *"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][0-9]+)?$")
# an OCI image reference: [host[:port]/]path[:tag][@sha256:hex], the distribution grammar
_IMAGE = re.compile(
    r"^(?:(?P<host>[A-Za-z0-9.-]+(?::[0-9]{1,5})?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*@")

#: the longest name a generated object carries on top of a component name ("-monitor")
_SUFFIX_ROOM = 10


def kube_name(text: str) -> str:
    """`text` as an RFC 1123 label: lowercase, '.' and '_' as '-' (model names allow
    both, Kubernetes names do not)."""
    return re.sub(r"[._]+", "-", text.lower()).strip("-")


def credential_paths(data: object, where: str = "") -> list[str]:
    """The key paths in `data` whose text is a URL carrying user:password@, so a refusal
    can name where a credential sits without repeating it."""
    if isinstance(data, str):
        return [where or "(top level)"] if _USERINFO.match(data.strip()) else []
    if isinstance(data, dict):
        items: list[tuple[object, object]] = list(data.items())
    elif isinstance(data, list):
        items = list(enumerate(data))
    else:
        return []
    found = []
    for key, value in items:
        found += credential_paths(value, f"{where}.{key}" if where else str(key))
    return found


def _check_name(value: str, what: str, longest: int = 63) -> str:
    if not _DNS_LABEL.match(value) or len(value) > longest:
        raise ValueError(
            f"{what} must be at most {longest} lowercase letters, digits or '-', starting and "
            "ending with a letter or digit (a Kubernetes name)"
        )
    return value


def _no_credentials(value: str, where: str) -> str:
    if _USERINFO.match(value.strip()):
        raise ValueError(
            f"{where} carries credentials (user:password@); put them in a Kubernetes Secret "
            "and name the Secret in these values instead"
        )
    return value


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SecretKey(_Section):
    """One key of a Kubernetes Secret: the pod reads it, the manifest only names it."""

    name: str
    key: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "a Secret name", 253)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _SECRET_KEY.match(value):
            raise ValueError("a Secret key is letters, digits, '-', '_' or '.'")
        return value


class Resources(_Section):
    """Requests (what the scheduler reserves; the autoscaler's 100%) and limits."""

    cpu: str = "250m"
    memory: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"

    @field_validator("cpu", "memory", "cpu_limit", "memory_limit")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError(
                "a resource quantity is a number with an optional unit (e.g. 500m, 2, 512Mi)"
            )
        return value


class StoreValues(_Section):
    #: the Secret key holding the metadata store URL (postgresql://user:pass@host/db)
    secret: SecretKey
    #: how serve, monitor and loop pods reach the store: the database itself, or the
    #: Knot server (then with auth.token_secret when auth is on)
    components: Literal["database", "server"] = "database"


class ArtifactValues(_Section):
    uri: str
    endpoint: str | None = None
    #: a Secret with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    secret: str | None = None
    region: str | None = None

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.startswith("s3://") or len(value) <= len("s3://"):
            raise ValueError(
                "pods share artifacts only through an object store: use s3://BUCKET/PREFIX "
                "(a file:// folder exists in one pod only)"
            )
        return _no_credentials(value, "artifacts.uri")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("the S3 endpoint is an http:// or https:// URL")
        return None if value is None else _no_credentials(value, "artifacts.endpoint")

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "a Secret name", 253)


class AuthValues(_Section):
    enabled: bool = False
    token_secret: SecretKey | None = None


class ServerValues(_Section):
    replicas: int = Field(2, ge=1, le=100)
    port: int = Field(8765, ge=1024, le=65535)
    workers: int = Field(1, ge=1, le=64)
    resources: Resources = Resources()


class MonitorValues(_Section):
    schedule: str = "*/15 * * * *"
    #: when `knot logs compact` merges the model's log parts
    compact_schedule: str = COMPACT_SCHEDULE

    @field_validator("schedule", "compact_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from croniter import croniter

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError("a schedule is a five-field cron expression (e.g. '*/15 * * * *')")
        return value


class LoopValues(_Section):
    #: the model's loop.yaml, read when the manifests are written (a ConfigMap holds it)
    config: str
    replicas: int = Field(1, ge=1, le=5)
    interval: float = Field(5.0, gt=0)


class ModelValues(_Section):
    """One prediction service; `name` names its Kubernetes objects (default: from ref)."""

    ref: str
    name: str | None = None
    #: the registered model monitor and loop work on (default: the name in a models:/ ref)
    registered_model: str | None = None
    replicas: int = Field(2, ge=1, le=1000)
    max_replicas: int = Field(6, ge=1, le=1000)
    cpu_target_percent: int = Field(70, ge=1, le=100)
    workers: int = Field(1, ge=1, le=64)
    port: int = Field(8080, ge=1024, le=65535)
    resources: Resources = Resources()
    monitor: MonitorValues | None = None
    loop: LoopValues | None = None

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        from knot.errors import Invalid
        from knot.refs import parse_kit_ref, parse_model_ref

        try:
            if value.startswith("models:"):
                parse_model_ref(value)
            elif value.startswith("oci://"):
                parse_kit_ref(value)
            else:
                raise ValueError(
                    "a model is models:/NAME@ALIAS, models:/NAME/VERSION or "
                    "oci://REGISTRY/REPO:TAG (a ModelKit)"
                )
        except Invalid as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "name", 63 - _SUFFIX_ROOM)

    @field_validator("registered_model")
    @classmethod
    def _registered(cls, value: str | None) -> str | None:
        from knot.errors import Invalid
        from knot.refs import check_model_name

        try:
            return None if value is None else check_model_name(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _consistent(self) -> ModelValues:
        if self.max_replicas < self.replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below replicas ({self.replicas}); "
                "the autoscaler needs max_replicas >= replicas"
            )
        if (self.monitor or self.loop) and self.model_name is None:
            raise ValueError(
                f"{self.ref} is a ModelKit: monitor and loop need the registered model it "
                "was packed from; add registered_model: NAME"
            )
        if self.name is None:
            _check_name(
                kube_name(self.default_name), f"the name made from {self.ref!r}", 63 - _SUFFIX_ROOM
            )
        return self

    @property
    def default_name(self) -> str:
        if self.ref.startswith("models:"):
            from knot.refs import parse_model_ref

            return parse_model_ref(self.ref).name
        from knot.refs import parse_kit_ref

        return parse_kit_ref(self.ref).repository.rsplit("/", 1)[-1]

    @property
    def object_name(self) -> str:
        """The base of this model's Kubernetes names."""
        return self.name or kube_name(self.default_name)

    @property
    def model_name(self) -> str | None:
        """The registered model behind the service, when known."""
        if self.registered_model:
            return self.registered_model
        if self.ref.startswith("models:"):
            from knot.refs import parse_model_ref

            return parse_model_ref(self.ref).name
        return None


class DeployValues(_Section):
    namespace: str = "knot"
    image: str
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = "IfNotPresent"
    image_pull_secret: str | None = None
    #: the uid and gid every container runs as (the image's knot user)
    run_as_user: int = Field(10001, ge=1, le=2**31 - 1)
    store: StoreValues
    artifacts: ArtifactValues
    auth: AuthValues = AuthValues()
    server: ServerValues = ServerValues()
    models: list[ModelValues] = Field(default_factory=list)
    grafana_dashboard: bool = True
    create_namespace: bool = True

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        return _check_name(value, "namespace")

    @field_validator("image_pull_secret")
    @classmethod
    def _pull_secret(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "a Secret name", 253)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        found = _IMAGE.match(value)
        if not found:
            raise ValueError(
                "an image is [REGISTRY/]REPOSITORY:TAG or ...@sha256:DIGEST with a lowercase "
                "repository (e.g. registry.example.com/knot/runtime:0.4.0)"
            )
        if not found["tag"] and not found["digest"]:
            raise ValueError(
                "the image has no tag or digest; pin one (e.g. ...:0.4.0) so every replica and "
                "every rollout runs the same build"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DeployValues:
        names = [m.object_name for m in self.models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"two models share the Kubernetes name {twice[0]!r}; give one a distinct name:"
            )
        uses_server = self.store.components == "server"
        if uses_server and self.auth.enabled and self.auth.token_secret is None:
            raise ValueError(
                "store.components is 'server' and auth is on: name the Secret with the API "
                "token in auth.token_secret (create the token with `knot tokens create`)"
            )
        return self
