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
