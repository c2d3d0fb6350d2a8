"""REPORT / SELFTEST bodies (docs/protocol.md, "Self-test"): fields, rules, malformed payloads, vectors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from vwwdeploy.link.protocol import messages as m

VECTORS = Path(__file__).parent / "vectors" / "protocol"
C, R, S = m.CheckId, m.CheckRule, m.CheckStatus


def _vector(name: str) -> tuple[bytes, str]:
    payload = next(
        line.split()[3] for line in (VECTORS / "frames.txt").read_text().splitlines() if line.split()[0] == name
    )
    fields = next(
        line.split(" ", 2)[2] for line in (VECTORS / "messages.txt").read_text().splitlines() if line.split()[0] == name
    )
    return bytes.fromhex(payload), fields


def test_report_vector_decodes_to_its_fields():
    payload, fields = _vector("report_edge")
    report = m.SelftestReport.decode(payload)
    want = [tuple(int(v) for v in rec.split(":")) for rec in fields.removeprefix("checks=").split(",")]
    got = [(c.id, int(c.status), c.rule, c.measured, c.expected, c.tolerance) for c in report.checks]
    assert got == want
    d5 = report.get(C.DATA_D5)
    assert d5.status == S.FAIL and d5.measured == 78_912 and d5.name == "data_d5"
    assert not report.passed
    assert report.get(C.HEAP).status == S.NOT_APPLICABLE


def test_qemu_vector_has_camera_checks_not_applicable():
    report = m.SelftestReport.decode(_vector("report_qemu")[0])
    assert {c.id for c in report.checks if c.status == S.NOT_APPLICABLE} == set(m.CAMERA_CHECKS) | {C.HEAP}
    assert report.get(C.MODEL_OUTPUT).status == S.FAIL


def test_unknown_ids_and_rules_survive_decoding():
    (check,) = m.SelftestReport.decode(_vector("report_unknown_check")[0]).checks
    assert (check.id, check.rule, check.name) == (0x7F, 9, "check_0x7f")
    assert not check.rule_holds()


@pytest.mark.parametrize(
    "rule,measured,expected,tol,holds",
    [
        (R.EQUAL, 5, 5, 0, True),
        (R.EQUAL, 5, 6, 0, False),
        (R.AT_LEAST, 6, 5, 0, True),
        (R.AT_LEAST, 4, 5, 0, False),
        (R.AT_MOST, 5, 5, 0, True),
        (R.AT_MOST, 6, 5, 0, False),
        (R.WITHIN, 32, 128, 96, True),
        (R.WITHIN, 31, 128, 96, False),
        (R.WITHIN, 225, 128, 96, False),
    ],
)
def test_rules(rule, measured, expected, tol, holds):
    check = m.Check.judged(C.EXPOSURE_MEAN, rule, measured, expected, tol)
    assert check.rule_holds() is holds
    assert check.status == (S.PASS if holds else S.FAIL)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        bytes([0]),  # no checks
        bytes([2]) + bytes(16),  # announces two, carries one
        bytes([1]) + bytes(17),  # trailing byte
        bytes([1]) + struct.pack("<BBBBIII", 1, 3, 0, 0, 0, 0, 0),  # status 3
        bytes([2]) + struct.pack("<BBBBIII", 2, 0, 0, 0, 0, 0, 0) * 2,  # ids repeat
        bytes([33]) + bytes(33 * 16),  # more than 32 checks
    ],
)
def test_malformed_reports_are_payload_errors(payload):
    with pytest.raises(m.PayloadError):
        m.SelftestReport.decode(payload)


def test_encoder_refuses_what_the_decoder_would():
    with pytest.raises(ValueError):
        m.SelftestReport(()).encode()
    a = m.Check.judged(C.ARENA, R.AT_MOST, 1, 2)
    with pytest.raises(ValueError):
        m.SelftestReport((a, a)).encode()


def test_selftest_takes_no_payload():
    m.decode_selftest(b"")
    with pytest.raises(m.PayloadError) as err:
        m.decode_selftest(b"\x00")
    assert err.value.code == m.ErrorCode.BAD_PAYLOAD


def test_builtin_input_follows_the_spec_formula():
    x = m.selftest_input(9216)
    assert x.dtype == np.int8 and x.shape == (9216,)
    for i in (0, 1, 2, 4097, 9215):
        assert int(x[i]) == (((i * 2654435761) % 2**32) >> 24) - 128
    assert len(set(x.tolist())) == 256  # every int8 value appears
