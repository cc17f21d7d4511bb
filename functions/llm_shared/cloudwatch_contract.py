"""The CloudWatch contract: metric names and dimensions the cost tracker writes and the alarms read,
CloudWatch's limits, and the log retention values CloudWatch Logs accepts.

Defined once here so the names and dimension sets the tracker pushes are exactly the ones the
BudgetAlarms and CostDashboard components alarm on: CloudWatch matches dimensions exactly, and a
mismatch silently leaves an alarm on a metric that never receives data. The stack settings and the
policy pack both check log retention against LOG_RETENTION_DAYS. (Not the gateway's Prometheus
metrics: those are the gateway's own.)
"""

from __future__ import annotations

DEFAULT_NAMESPACE = "LLMCostGovernance"

# Cost-to-date gauges, in USD, one value per tracker run; alarms use the Maximum statistic.
DAILY_COST = "DailyCost"
MONTHLY_COST = "MonthlyCost"
FORECAST_MONTHLY_COST = "ForecastMonthlyCost"
# Budget percentage gauges, handy on the dashboard.
DAILY_BUDGET_USED = "DailyBudgetUsedPercent"
MONTHLY_BUDGET_USED = "MonthlyBudgetUsedPercent"
# Breakdowns (dashboard only, never alarmed).
MODEL_DAILY_COST = "ModelDailyCost"
BACKEND_DAILY_COST = "BackendDailyCost"
DAILY_TOKENS = "DailyTokens"
DAILY_REQUESTS = "DailyRequests"
# The day's cost per client key at catalog prices, both backends: the figure a key budget is held
# to (GPU-served tokens are valued, not paid, so the keys need not add up to DailyCost).
KEY_DAILY_COST = "KeyDailyCost"

# The heartbeat the "tracker stopped reporting" alarm watches: DailyCost itself, since it is
# pushed on every successful run and on no failed one.
HEARTBEAT_METRIC = DAILY_COST

STACK_DIMENSION = "Stack"
MODEL_DIMENSION = "Model"
BACKEND_DIMENSION = "Backend"
KEY_DIMENSION = "Key"  # a client key name (llm_shared.client_keys: already a valid dimension value)

# Exactly the dimension names of each metric the alarms read. The tracker pushes the headline
# gauges with this set and no other, so an alarm's dimension set matches exactly.
ALARMED_METRICS = (DAILY_COST, MONTHLY_COST, FORECAST_MONTHLY_COST)
ALARM_DIMENSIONS = (STACK_DIMENSION,)

# Dimension names of each breakdown metric, Stack first (the tracker writes them, the dashboard
# reads them). Model costs are serverless token spend; Backend=gpu cost is the host's hours.
BREAKDOWN_DIMENSIONS: dict[str, tuple[str, ...]] = {
    MODEL_DAILY_COST: (STACK_DIMENSION, MODEL_DIMENSION),
    BACKEND_DAILY_COST: (STACK_DIMENSION, BACKEND_DIMENSION),
    DAILY_TOKENS: (STACK_DIMENSION, MODEL_DIMENSION),
    DAILY_REQUESTS: (STACK_DIMENSION, BACKEND_DIMENSION),
    KEY_DAILY_COST: (STACK_DIMENSION, KEY_DIMENSION),
}

COST_UNIT = "None"  # CloudWatch has no currency unit; values are USD.
PERCENT_UNIT = "Percent"
COUNT_UNIT = "Count"

# CloudWatch PutMetricData limits (per call).
MAX_METRIC_DATA_PER_CALL = 1000
MAX_PAYLOAD_BYTES = 1_000_000
MAX_DIMENSION_VALUE_LENGTH = 1024

# The retention periods (days) CloudWatch Logs accepts; 0/absent would mean "never expire".
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
DEFAULT_LOG_RETENTION_DAYS = 30


def stack_dimensions(stack: str) -> list[dict[str, str]]:
    """The exact dimension list for alarmed metrics of one stack."""
    return [{"Name": STACK_DIMENSION, "Value": stack}]
