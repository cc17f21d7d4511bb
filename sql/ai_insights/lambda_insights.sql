-- One row per finished gateway request, loaded by the pipe from the exporter's gzip CSV objects.
-- Columns in the CSV's order (cost_tracker.usage_export.CSV_COLUMNS); one column per line, as
-- components/insights_sql.py reads them into the pulumi-snowflake Table. No INDEX clauses:
-- standard Snowflake tables have none. TS is UTC. COST_PICO is exact (whole picodollars).
CREATE TABLE IF NOT EXISTS ${database}.${schema}.LAMBDA_INSIGHTS (
    STACK VARCHAR(128) NOT NULL,
    LEDGER_CURSOR NUMBER(19,0) NOT NULL,
    REQUEST_ID VARCHAR(256) NOT NULL,
    TS TIMESTAMP_NTZ(3) NOT NULL,
    MODEL VARCHAR(256) NOT NULL,
    BACKEND VARCHAR(16) NOT NULL,
    PROMPT_TOKENS NUMBER(19,0) NOT NULL,
    COMPLETION_TOKENS NUMBER(19,0) NOT NULL,
    COST_PICO NUMBER(38,0) NOT NULL,
    LATENCY_MS FLOAT NOT NULL,
    STATUS VARCHAR(16) NOT NULL,
    ESTIMATED BOOLEAN NOT NULL,
    COMPLEXITY VARCHAR(16),
    COST_PRIORITY VARCHAR(32),
    USER_ID VARCHAR(256),
    SESSION_ID VARCHAR(256),
    KEY_NAME VARCHAR(64)
)
