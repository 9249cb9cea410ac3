"""Feast online stores and a materialization engine that push a day of features in bulk.

- `sqlite.BulkSqliteOnlineStore`: one row per entity, one guarded upsert per batch, WAL.
- `redis.BulkRedisOnlineStore`: Feast's Redis layout, one atomic guarded script per entity,
  commands packed column-wise and pipelined.
- `engine.BulkMaterializationEngine`: Feast's local engine, handing Arrow batches to the
  stores above instead of converting every cell to a ValueProto first.

All are configured in feature_store.yaml by their class path; see docs/online_store.md.
"""
