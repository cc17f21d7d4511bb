"""The CloudWatch metric contract shared by the cost tracker (writer) and the alarms (readers).

Defined once here so the names and dimension sets the tracker pushes are exactly the ones the
BudgetAlarms and CostDashboard components alarm on: CloudWatch matches dimensions exactly, and a
mismatch silently leaves an alarm on a metric that never receives data.
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

# The heartbeat the "tracker stopped reporting" alarm watches: DailyCost itself, since it is
# pushed on every successful run and on no failed one.
HEARTBEAT_METRIC = DAILY_COST

STACK_DIMENSION = "Stack"
MODEL_DIMENSION = "Model"
BACKEND_DIMENSION = "Backend"

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
}

COST_UNIT = "None"  # CloudWatch has no currency unit; values are USD.
PERCENT_UNIT = "Percent"
COUNT_UNIT = "Count"

# CloudWatch PutMetricData limits (per call).
MAX_METRIC_DATA_PER_CALL = 1000
MAX_PAYLOAD_BYTES = 1_000_000
MAX_DIMENSION_VALUE_LENGTH = 1024


def stack_dimensions(stack: str) -> list[dict[str, str]]:
    """The exact dimension list for alarmed metrics of one stack."""
    return [{"Name": STACK_DIMENSION, "Value": stack}]
