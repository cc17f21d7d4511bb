"""Usage from an upstream is untrusted input: a backend that reports 2^62 tokens is clamped to the
request's own bounds, the row is flagged, and the guard and the ledger agree (also after a restart),
so one lie cannot poison the month."""

from __future__ import annotations

import logging

import pytest

from gateway.usage_clamp import usage_bounds
from llm_shared.catalog import default_catalog
from llm_shared.pricing import cost_pico
from llm_shared.usage_schema import usd_string
from standins import Script

from .conftest import HELLO, SMALL, running_gateway

LIE = 2**62
MODEL = default_catalog().get(SMALL)


def _clamped_samples(gw) -> float:
    text = gw.metrics().text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("gateway_usage_clamped_total{"))


@pytest.mark.parametrize(("stream", "max_tokens", "n"), [(False, 50, 1), (True, 50, 1), (False, None, 2)],
                         ids=["complete", "stream", "no-max-tokens-n2"])
def test_a_lying_upstream_is_clamped_flagged_and_the_month_survives(backends, tmp_path, caplog, stream,
                                                                    max_tokens, n):
    caplog.set_level(logging.WARNING)
    backends.reset()
    backends.serverless.script = Script(lie_tokens=LIE)
    body = {"model": SMALL, "messages": HELLO, "stream": stream, "n": n,
            **({"max_tokens": max_tokens} if max_tokens else {})}
    with running_gateway(backends, tmp_path) as gw:
        response = gw.chat(body)
        assert response.status_code == 200, response.text
        [row] = gw.rows()
        prompt, completion, cost, status, estimated = row[3], row[4], row[5], row[6], row[7]
        assert prompt == MODEL.context_window  # prompt <= the model's window
        assert completion == (max_tokens or MODEL.context_window) * n  # completion <= the request's cap
        assert cost == cost_pico(MODEL, prompt, completion) < 2**63
        assert status == "ok" and estimated == 1  # flagged: the gateway's counts, not the upstream's
        if stream:
            assert f": x-cost-usd={usd_string(cost)}" in response.text
        else:
            assert response.headers["x-cost-usd"] == usd_string(cost)
            assert response.headers["x-usage-clamped"] == "true"
        assert "clamped" in caplog.text and str(LIE) in caplog.text  # what the upstream claimed is logged
        assert _clamped_samples(gw) == 1
        assert gw.app.guard.windows()[0].spent_pico == cost  # guard == ledger
        assert gw.app.writer.dead_letter_records == 0

        backends.serverless.script = Script()  # the month goes on: an honest request is served
        honest = gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 20})
        assert honest.status_code == 200 and "x-usage-clamped" not in honest.headers
        total = sum(r[5] for r in gw.rows())
        assert gw.app.guard.windows()[0].spent_pico == total

    with running_gateway(backends, tmp_path) as restarted:  # the same ledger file
        assert restarted.app.guard.windows()[0].spent_pico == total


def test_honest_usage_is_within_the_bounds():
    bounds = usage_bounds(MODEL, max_tokens=50, n=1)
    assert bounds.clamp(10, 50) == (10, 50, False)
    assert bounds.clamp(MODEL.context_window + 1, 50) == (MODEL.context_window, 50, True)
    assert bounds.clamp(10, 51) == (10, 50, True)
    assert usage_bounds(MODEL, max_tokens=None, n=3).completion == 3 * MODEL.context_window


def test_no_catalog_model_can_overflow_a_ledger_integer_at_its_bounds():
    for model in default_catalog():
        bounds = usage_bounds(model, max_tokens=None, n=16)
        assert cost_pico(model, bounds.prompt, bounds.completion) < 2**63, model.id

