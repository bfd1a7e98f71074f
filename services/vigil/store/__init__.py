"""ClickHouse access: one code path (clickhouse-connect) for the server and embedded chdb."""
