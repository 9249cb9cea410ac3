"""The contenders of the online-store benchmark (`--suite online`).

Push contenders put one day's features of every user into an empty store; read
contenders then send online requests to a store a push contender left (`READS_STORE_OF`
names which). Each runs in its own process (`benchmarks.child`); this module only names
them, so a contender's libraries are imported in its own process.
"""

PLAIN_SQLITE = "plain Feast: sqlite"
BULK_SQLITE = "bulk store + engine: sqlite"
FLOOR_SQLITE = "floor: SQLite executemany"
PLAIN_REDIS = "plain Feast: redis"
BULK_REDIS = "bulk store + engine: redis"
FLOOR_REDIS = "floor: Redis HSET pipeline (redis-py)"
FLOOR_REDIS_PACKED = "floor: Redis HSET, packed column-wise"

READ_PLAIN_SQLITE = "read, plain Feast: sqlite"
READ_BULK_SQLITE = "read, bulk store: sqlite"
READ_FLOOR_SQLITE = "read, floor: SQLite key lookup"
READ_PLAIN_REDIS = "read, plain Feast: redis"
READ_BULK_REDIS = "read, bulk store: redis"
READ_FLOOR_REDIS = "read, floor: Redis HMGET pipeline"

PUSHES = {
    PLAIN_SQLITE: "benchmarks.feature_store.push:plain_sqlite",
    BULK_SQLITE: "benchmarks.feature_store.push:bulk_sqlite",
    FLOOR_SQLITE: "benchmarks.feature_store.push:sqlite_floor",
    PLAIN_REDIS: "benchmarks.feature_store.push:plain_redis",
    BULK_REDIS: "benchmarks.feature_store.push:bulk_redis",
    FLOOR_REDIS: "benchmarks.feature_store.push:redis_floor",
    FLOOR_REDIS_PACKED: "benchmarks.feature_store.push:redis_packed_floor",
}
READS = {
    READ_PLAIN_SQLITE: "benchmarks.feature_store.read:sdk",
    READ_BULK_SQLITE: "benchmarks.feature_store.read:sdk",
    READ_FLOOR_SQLITE: "benchmarks.feature_store.read:sqlite_lookup_floor",
    READ_PLAIN_REDIS: "benchmarks.feature_store.read:sdk",
    READ_BULK_REDIS: "benchmarks.feature_store.read:sdk",
    READ_FLOOR_REDIS: "benchmarks.feature_store.read:redis_lookup_floor",
}
READS_STORE_OF = {
    READ_PLAIN_SQLITE: PLAIN_SQLITE,
    READ_BULK_SQLITE: BULK_SQLITE,
    READ_FLOOR_SQLITE: BULK_SQLITE,
    READ_PLAIN_REDIS: PLAIN_REDIS,
    READ_BULK_REDIS: BULK_REDIS,
    READ_FLOOR_REDIS: BULK_REDIS,
}
CONTENDERS = {**PUSHES, **READS}
KIND = {name: "redis" if "redis" in name.lower() else "sqlite" for name in CONTENDERS}
"""Which online store a contender writes or reads."""
