"""Environment variable names of the cost-tracker Lambda.

The CostTracker component sets exactly these and the handler reads exactly these, so the two
cannot drift. Secret VALUES never travel in the environment: only Secrets Manager ARNs do.
"""

METRIC_NAMESPACE = "METRIC_NAMESPACE"
STACK_NAME = "STACK_NAME"
DAILY_BUDGET_USD = "DAILY_BUDGET_USD"
MONTHLY_BUDGET_USD = "MONTHLY_BUDGET_USD"
WARNING_THRESHOLD_PERCENT = "WARNING_THRESHOLD_PERCENT"
CRITICAL_THRESHOLD_PERCENT = "CRITICAL_THRESHOLD_PERCENT"
TIME_ZONE = "TIME_ZONE"
GATEWAY_URL = "GATEWAY_URL"
GATEWAY_TOKEN_SECRET_ARN = "GATEWAY_TOKEN_SECRET_ARN"
# Optional: with a Lambda Cloud API key, the GPU hourly price comes from the instance-types API.
LAMBDA_API_KEY_SECRET_ARN = "LAMBDA_API_KEY_SECRET_ARN"
LAMBDA_CLOUD_API_URL = "LAMBDA_CLOUD_API_URL"  # default https://cloud.lambda.ai/api/v1
GPU_INSTANCE_TYPE = "GPU_INSTANCE_TYPE"        # e.g. gpu_1x_a10; empty = no dedicated GPU cost
GPU_HOURLY_USD = "GPU_HOURLY_USD"              # fallback price when no API key is configured
GPU_HOST_STARTED_AT = "GPU_HOST_STARTED_AT"    # ISO 8601; GPU hours are counted from here
# The alarms' period in seconds (= the push interval, default 3600): every datapoint of a run is
# stamped at the start of its period, so a retried run lands in the same period (Maximum unchanged).
METRIC_PERIOD_SECONDS = "METRIC_PERIOD_SECONDS"

REQUIRED = (METRIC_NAMESPACE, STACK_NAME, DAILY_BUDGET_USD, MONTHLY_BUDGET_USD, GATEWAY_URL,
            GATEWAY_TOKEN_SECRET_ARN)
SECRET_ARN_VARIABLES = (GATEWAY_TOKEN_SECRET_ARN, LAMBDA_API_KEY_SECRET_ARN)

# The usage exporter (cost_tracker.export_handler): same zip, its own function. It reads the
# gateway with GATEWAY_URL and GATEWAY_TOKEN_SECRET_ARN above and writes gzip CSV objects here.
EXPORT_BUCKET = "EXPORT_BUCKET"
EXPORT_PREFIX = "EXPORT_PREFIX"          # ends with "/", e.g. usage/prod/
EXPORT_PAGE_SIZE = "EXPORT_PAGE_SIZE"    # records per object, default 5000
EXPORT_REQUIRED = (STACK_NAME, GATEWAY_URL, GATEWAY_TOKEN_SECRET_ARN, EXPORT_BUCKET, EXPORT_PREFIX)
