"""The Redis online store: per view, a hash per generation (entity -> value) and a
pointer hash (generation, watermark, view version).

A read is one Lua script call for every view of a feature service: Redis runs a
script atomically, so it resolves each pointer and reads that generation with nothing
in between, and a generation dropped after a swap is never read half-way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from knot.errors import Unavailable
from knot.features.online.protocol import CLAIM_SECONDS, Pointer

__all__ = ["RedisOnlineStore"]

# ARGV: prefix, then per view: name, key count, keys. HMGET in chunks keeps unpack()
# within Lua's stack limit for large batches.
_READ = """
local prefix = ARGV[1]
local out = {}
local i = 2
while i <= #ARGV do
  local view = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  local gen = redis.call('HGET', prefix .. ':ptr:' .. view, 'generation')
  local vals = {}
  if gen then
    local key = prefix .. ':g:' .. view .. ':' .. gen
    local start = i
    while start < i + n do
      local stop = math.min(start + 999, i + n - 1)
      local got = redis.call('HMGET', key, unpack(ARGV, start, stop))
      for j = 1, #got do vals[#vals + 1] = got[j] end
      start = stop + 1
    end
  else
    for j = 1, n do vals[j] = false end
  end
  out[#out + 1] = vals
  i = i + n
end
return out
"""


class RedisOnlineStore:
    def __init__(self, uri: str, prefix: str = "knot:online") -> None:
        import redis

        self.uri = uri
        self.prefix = prefix
        try:
            self.client: Any = redis.Redis.from_url(uri)
            self.client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise Unavailable(
                f"cannot reach the Redis online store {uri!r}: {exc}; check the URI "
                "(redis://host:port/db) and that redis-server runs",
            ) from exc
        self._read = self.client.register_script(_READ)

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self.uri!r})"

    def _gen_key(self, view: str, generation: int) -> str:
        return f"{self.prefix}:g:{view}:{generation}"

    def pointer(self, view: str) -> Pointer | None:
        got = self.client.hgetall(f"{self.prefix}:ptr:{view}")
        if not got:
            return None
        watermark = got.get(b"watermark", b"")
        return Pointer(
            int(got[b"generation"]),
            int(watermark) if watermark else None,
            int(got[b"view_version"]),
        )

    def claim(self, view: str, generation: int) -> bool:
        key = f"{self.prefix}:claim:{view}:{generation}"
        return bool(self.client.set(key, 1, nx=True, ex=CLAIM_SECONDS))

    def write(
        self,
        view: str,
        generation: int,
        batches: Iterable[tuple[Sequence[str], Sequence[bytes]]],
        base: int | None,
    ) -> int:
        key = self._gen_key(view, generation)
        self.client.delete(key)  # a generation left by a run that died half-way
        if base is not None:
            self.client.copy(self._gen_key(view, base), key, replace=True)
        count = 0
        for keys, values in batches:
            if not keys:
                continue
            self.client.hset(key, mapping=dict(zip(keys, values, strict=True)))
            count += len(keys)
        return count

    def publish(self, view: str, pointer: Pointer) -> None:
        before = self.pointer(view)
        mapping = {
            "generation": pointer.generation,
            "watermark": "" if pointer.watermark is None else pointer.watermark,
            "view_version": pointer.view_version,
        }
        self.client.hset(f"{self.prefix}:ptr:{view}", mapping=mapping)
        if before is not None and before.generation != pointer.generation:
            self.client.unlink(self._gen_key(view, before.generation))

    def read(self, lookups: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        args: list[Any] = [self.prefix]
        for view, keys in lookups:
            args.extend([view, len(keys), *keys])
        try:
            got = self._read(args=args)
        except Exception as exc:
            raise Unavailable(f"the Redis online store {self.uri!r} failed a read: {exc}") from exc
        return [[v if v else None for v in vals] for vals in got]

    def read_one(self, view: str, key: str) -> bytes | None:
        return self.read([(view, [key])])[0][0]

    def close(self) -> None:
        self.client.close()
