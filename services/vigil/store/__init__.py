"""ClickHouse access: one code path (clickhouse-connect) for the server and embedded chdb.

The client (`client`), the schema migrator (`migrate`), the tables' column specs
(`tables`) and the one write path every table is written through (`writer`,
`remote_writer`).
"""
