import io
import json
import logging

from app.logging import RequestIdFilter, structured_formatter
from app.request_context import request_id_var


def _logger(json_output: bool) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(structured_formatter(json=json_output))
    logger = logging.getLogger(f"test.structured.{json_output}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_log_lines_carry_the_request_id():
    logger, stream = _logger(json_output=True)
    token = request_id_var.set("req-abc-12345")
    try:
        logger.info("booking created")
    finally:
        request_id_var.reset(token)

    line = json.loads(stream.getvalue())
    assert line["event"] == "booking created"
    assert line["request_id"] == "req-abc-12345"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_log_lines_outside_a_request_say_so():
    logger, stream = _logger(json_output=True)

    logger.warning("beat tick")

    assert json.loads(stream.getvalue())["request_id"] == "-"
