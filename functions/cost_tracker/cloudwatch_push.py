"""Turn a run's figures into CloudWatch datums and push them in as few calls as the limits allow.

Names, units and dimension sets come only from `llm_shared.cloudwatch_contract`, the module the
BudgetAlarms component also reads, so an alarm's dimension set always matches what is pushed.
Every datum of a run carries the same timestamp (the run's hour): a retried or duplicate run adds
an equal sample to the same period, leaving the alarmed Maximum unchanged. Headline gauges go in
the first call, so a failure in a later breakdown call never leaves the alarmed figures partial.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from llm_shared import cloudwatch_contract as mc
from llm_shared.money import pico_to_float

from .figures import Figures

Datum = dict[str, Any]
# Fixed part of a PutMetricData request (action, version, namespace) plus headroom.
_REQUEST_OVERHEAD = 2_048


def dimension_value(text: str) -> str:
    """A value CloudWatch accepts: printable ASCII (others escaped), 1-1024 characters, not blank.

    Model ids come from the ledger, i.e. from clients; one odd id must not get the whole call (and
    with it the alarmed gauges) rejected.
    """
    escaped = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text)
    escaped = escaped[:mc.MAX_DIMENSION_VALUE_LENGTH]
    return escaped if escaped.strip() else "(blank)"


def _dims(names: tuple[str, ...], values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": values[name]} for name in names]


def _datum(name: str, dimensions: list[dict[str, str]], value: float, unit: str,
           timestamp: datetime) -> Datum:
    return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Value": value,
            "Unit": unit}


def build_metric_data(figures: Figures, stack: str, timestamp: datetime) -> list[Datum]:
    """Headline gauges (exactly the alarm dimension set) first, then the breakdowns."""
    stack_dims = mc.stack_dimensions(stack)
    day, month = figures.statuses["day"], figures.statuses["month"]
    data = [
        _datum(mc.DAILY_COST, stack_dims, pico_to_float(figures.daily_pico), mc.COST_UNIT, timestamp),
        _datum(mc.MONTHLY_COST, stack_dims, pico_to_float(figures.monthly_pico), mc.COST_UNIT, timestamp),
        _datum(mc.FORECAST_MONTHLY_COST, stack_dims, pico_to_float(figures.forecast_pico), mc.COST_UNIT,
               timestamp),
        _datum(mc.DAILY_BUDGET_USED, stack_dims, float(day.percent_used), mc.PERCENT_UNIT, timestamp),
        _datum(mc.MONTHLY_BUDGET_USED, stack_dims, float(month.percent_used), mc.PERCENT_UNIT, timestamp),
    ]
    for backend in figures.backends:
        values = {mc.STACK_DIMENSION: stack, mc.BACKEND_DIMENSION: backend.backend}
        data.append(_datum(mc.BACKEND_DAILY_COST, _dims(mc.BREAKDOWN_DIMENSIONS[mc.BACKEND_DAILY_COST],
                                                          values),
                           pico_to_float(backend.cost_pico), mc.COST_UNIT, timestamp))
        data.append(_datum(mc.DAILY_REQUESTS, _dims(mc.BREAKDOWN_DIMENSIONS[mc.DAILY_REQUESTS], values),
                           float(backend.requests), mc.COUNT_UNIT, timestamp))
    for model in figures.models:
        values = {mc.STACK_DIMENSION: stack, mc.MODEL_DIMENSION: dimension_value(model.model)}
        data.append(_datum(mc.MODEL_DAILY_COST, _dims(mc.BREAKDOWN_DIMENSIONS[mc.MODEL_DAILY_COST], values),
                           pico_to_float(model.serverless_cost_pico), mc.COST_UNIT, timestamp))
        data.append(_datum(mc.DAILY_TOKENS, _dims(mc.BREAKDOWN_DIMENSIONS[mc.DAILY_TOKENS], values),
                           float(model.prompt_tokens + model.completion_tokens), mc.COUNT_UNIT, timestamp))
    for key in figures.keys:
        values = {mc.STACK_DIMENSION: stack, mc.KEY_DIMENSION: key.key_name}
        data.append(_datum(mc.KEY_DAILY_COST, _dims(mc.BREAKDOWN_DIMENSIONS[mc.KEY_DAILY_COST], values),
                           pico_to_float(key.cost_pico), mc.COST_UNIT, timestamp))
    return data


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _encoded_len(text: str) -> int:
    """Upper bound of a form-encoded value's length (every other UTF-8 byte becomes %XX)."""
    return sum(1 if b in _UNRESERVED else 3 for b in text.encode("utf-8"))


def estimate_datum_bytes(datum: Datum, index: int = 1000) -> int:
    """Request bytes one datum costs in the most verbose wire format (AWS query protocol)."""
    prefix = len(f"&MetricData.member.{index}.")
    size = prefix + len("MetricName=") + _encoded_len(datum["MetricName"])
    size += prefix + len("Timestamp=") + len("2026-01-01T00%3A00%3A00.000000Z")
    size += prefix + len("Value=") + len(repr(float(datum["Value"])))
    size += prefix + len("Unit=") + _encoded_len(datum["Unit"])
    for j, dim in enumerate(datum["Dimensions"], start=1):
        dim_prefix = prefix + len(f"Dimensions.member.{j}.")
        size += dim_prefix + len("Name=") + _encoded_len(dim["Name"])
        size += dim_prefix + len("Value=") + _encoded_len(dim["Value"])
    return size


def batches(data: list[Datum], namespace: str, *, max_datums: int = mc.MAX_METRIC_DATA_PER_CALL,
            max_bytes: int = mc.MAX_PAYLOAD_BYTES) -> Iterator[list[Datum]]:
    """Greedy, order-preserving chunks within both the datum-count and payload-size limits."""
    budget = max_bytes - _REQUEST_OVERHEAD - _encoded_len(namespace)
    batch: list[Datum] = []
    used = 0
    for datum in data:
        size = estimate_datum_bytes(datum)
        if size > budget:
            raise ValueError(f"metric datum {datum['MetricName']} alone exceeds the request size limit")
        if batch and (len(batch) >= max_datums or used + size > budget):
            yield batch
            batch, used = [], 0
        batch.append(datum)
        used += size
    if batch:
        yield batch


def push(client: Any, namespace: str, data: list[Datum]) -> list[int]:
    """PutMetricData in batches; returns the datum count of each call made."""
    sizes = []
    for batch in batches(data, namespace):
        client.put_metric_data(Namespace=namespace, MetricData=batch)
        sizes.append(len(batch))
    return sizes
