-- Per day in the stack's time zone, client key and backend: the by_key figures of the gateway's
-- /v1/usage/summary for that day (KEY_NAME is NULL for rows recorded before keys had names).
-- Sums are cast so picodollars and tokens stay exact integers.
SELECT
    STACK,
    CAST(CONVERT_TIMEZONE('UTC', '${time_zone}', TS) AS DATE) AS USAGE_DATE,
    KEY_NAME,
    BACKEND,
    COUNT(*) AS REQUESTS,
    COUNT_IF(STATUS = 'error') AS ERRORS,
    SUM(CAST(PROMPT_TOKENS AS NUMBER(38,0))) AS PROMPT_TOKENS,
    SUM(CAST(COMPLETION_TOKENS AS NUMBER(38,0))) AS COMPLETION_TOKENS,
    SUM(CAST(COST_PICO AS NUMBER(38,0))) AS COST_PICO,
    CAST(SUM(CAST(COST_PICO AS NUMBER(38,0))) / 1000000000000 AS NUMBER(38,12)) AS COST_USD
FROM ${database}.${schema}.LAMBDA_INSIGHTS
GROUP BY STACK, USAGE_DATE, KEY_NAME, BACKEND
