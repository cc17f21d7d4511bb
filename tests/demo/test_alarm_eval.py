"""The alarm rule the demo and tests use in place of CloudWatch's evaluation."""

from __future__ import annotations

import pytest

from demo.alarm_eval import ALARM, INSUFFICIENT, OK, decide


def state(values, threshold=40.0, comparison="GreaterThanOrEqualToThreshold", periods=1, m=None,
          missing="ignore"):
    return decide(values, threshold=threshold, comparison=comparison, evaluation_periods=periods,
                  datapoints_to_alarm=m, treat_missing=missing)[0]


@pytest.mark.parametrize(("value", "expected"), [(39.99, OK), (40.0, ALARM), (50.0, ALARM)])
def test_threshold_boundary(value, expected):
    assert state([value]) == expected


def test_greater_than_is_strict():
    assert state([40.0], comparison="GreaterThanThreshold") == OK


def test_missing_data_treatments():
    assert state([None]) == INSUFFICIENT
    assert state([None, None], periods=2, missing="breaching", threshold=1,
                 comparison="LessThanThreshold") == ALARM
    assert state([5.0, None], periods=2, missing="breaching", threshold=1,
                 comparison="LessThanThreshold") == OK  # only 1 of 2 breaching
    assert state([None], missing="notBreaching") == OK
    assert state([None], missing="missing") == INSUFFICIENT


def test_m_of_n():
    assert state([50.0, 10.0, 50.0], periods=3, m=2) == ALARM
    assert state([50.0, 10.0, 10.0], periods=3, m=2) == OK


def test_windows_are_aligned_to_the_period_like_cloudwatch():
    """A value stamped at 01:00 is in the 01:00-01:15 period even when evaluated at 01:15:00.5."""
    from datetime import UTC, datetime

    from demo.alarm_eval import evaluate_alarm

    class FakeCloudWatch:
        """Returns one datapoint at 01:00 and records the window it was asked for."""

        def get_metric_statistics(self, **kw):
            self.asked = kw
            return {"Datapoints": [{"Timestamp": datetime(2026, 11, 25, 1, 0, tzinfo=UTC), "Maximum": 50.0}]}

    cw = FakeCloudWatch()
    alarm = {"AlarmName": "a", "Namespace": "N", "MetricName": "DailyCost", "Period": 900,
             "EvaluationPeriods": 2, "Statistic": "Maximum", "Threshold": 40.0,
             "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "ignore"}
    verdict = evaluate_alarm(cw, alarm, datetime(2026, 11, 25, 1, 15, 0, 500_000, tzinfo=UTC))
    assert cw.asked["StartTime"] == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert cw.asked["EndTime"] == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    assert verdict.state == ALARM and verdict.latest == 50.0
