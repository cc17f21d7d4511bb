-- The pipe's load statement (Snowpipe runs it for each new object; load history skips a file
-- loaded before). The tests run this same statement against a local stage.
COPY INTO ${database}.${schema}.LAMBDA_INSIGHTS
FROM @${database}.${schema}.USAGE_EXPORT_STAGE
FILE_FORMAT = (FORMAT_NAME = '${database}.${schema}.USAGE_EXPORT_CSV')
