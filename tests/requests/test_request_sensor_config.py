"""A deployment without the audit log's variables: every request sensor tick fails in one line.

The ticks are the daemon's own records (Dagster's sensor daemon iteration against a real code
server subprocess that loads the code location from the environment), and the direct
evaluations use the real resources on a real database.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from ocomms_pipeline.definitions import defs
from ocomms_pipeline.defs.requests.resources import (
    AUDIT_DIR_ENV,
    AUDIT_SECRET_ENV,
    AuditLog,
    MissingConfiguration,
    RequestQueue,
)
from ocomms_pipeline.requests import queue as request_queue

from ..support.requests_world import SECRET, SensorDaemon

REQUEST_SENSORS = (
    "export_requests",
    "export_request_started",
    "export_request_succeeded",
    "export_request_failed",
)
BOTH_MISSING = (
    "OCOMMS_AUDIT_LOG_DIR and AUDIT_LOG_SECRET are not set: the request sensors append every"
    " decision on an export request to ocomms's audit log, and cannot run without them"
)


@pytest.fixture
def queue_url(make_database) -> str:
    database = make_database(seed=False)
    request_queue.init_db(database.url)
    return database.url


@pytest.fixture
def daemon(queue_url, tmp_path, monkeypatch) -> Iterator[SensorDaemon]:
    """The sensor daemon on a deployment that has everything but the audit log's variables."""
    monkeypatch.setenv("OCOMMS_DATABASE_URL", queue_url)
    monkeypatch.setenv("OCOMMS_EXPORT_ROOT", str(tmp_path / "exports"))
    monkeypatch.setenv("OCOMMS_REQUEST_SENSOR_INTERVAL_SECONDS", "1")
    monkeypatch.delenv(AUDIT_DIR_ENV, raising=False)
    monkeypatch.delenv(AUDIT_SECRET_ENV, raising=False)
    with (
        tempfile.TemporaryDirectory() as home,
        dg.instance_for_test(temp_dir=home) as instance,
    ):
        running = SensorDaemon(instance).start()
        try:
            yield running
        finally:
            running.stop()


def _latest_ticks(instance: dg.DagsterInstance) -> dict[str, object]:
    """Sensor name -> its newest tick, as the daemon recorded it."""
    latest = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if ticks:
            latest[state.instigator_name] = ticks[0]
    return latest


def _next_iteration(daemon: SensorDaemon) -> dict[str, object]:
    time.sleep(1.1)  # the sensors' minimum interval
    daemon.tick()
    return _latest_ticks(daemon.instance)


def test_missing_audit_variables_fail_each_request_sensor_tick_with_one_line(daemon):
    daemon.tick()
    ticks = _latest_ticks(daemon.instance)
    for name in REQUEST_SENSORS:
        tick = ticks[name]
        assert tick.status == TickStatus.FAILURE, name
        assert tick.error.message == BOTH_MISSING
        assert (tick.error.stack, tick.error.cause, tick.error.context) == ([], None, None)
    assert ticks["organization_partitions"].status != TickStatus.FAILURE


def test_the_message_names_only_what_is_missing_and_a_full_setup_ticks_clean(
    daemon, tmp_path, monkeypatch
):
    monkeypatch.setenv(AUDIT_DIR_ENV, str(tmp_path / "audit"))
    daemon.restart()  # a new code server loads the code location with the new environment
    ticks = _next_iteration(daemon)
    for name in REQUEST_SENSORS:
        assert ticks[name].status == TickStatus.FAILURE, name
        assert ticks[name].error.message.startswith("AUDIT_LOG_SECRET is not set: ")
        assert "\n" not in ticks[name].error.message
    monkeypatch.setenv(AUDIT_SECRET_ENV, SECRET)
    daemon.restart()
    ticks = _next_iteration(daemon)
    assert {name: ticks[name].status for name in REQUEST_SENSORS} == dict.fromkeys(
        REQUEST_SENSORS, TickStatus.SKIPPED
    )


def test_direct_evaluation_with_the_real_resources(queue_url, tmp_path):
    sensor = defs.resolve_sensor_def("export_requests")
    queue = RequestQueue(url=queue_url)
    with dg.instance_for_test() as instance:
        incomplete = {"request_queue": queue, "audit_log": AuditLog(secret=SECRET)}
        with pytest.raises(MissingConfiguration) as raised:
            sensor(dg.build_sensor_context(instance=instance, resources=incomplete))
        assert str(raised.value).startswith("OCOMMS_AUDIT_LOG_DIR is not set: ")
        complete = {
            "request_queue": queue,
            "audit_log": AuditLog(directory=str(tmp_path / "audit"), secret=SECRET),
        }
        result = sensor(dg.build_sensor_context(instance=instance, resources=complete))
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == "no new export requests"


def test_from_env_names_variables_and_never_holds_the_secret(monkeypatch, tmp_path):
    monkeypatch.setenv(AUDIT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(AUDIT_SECRET_ENV, "not-in-the-snapshot")
    configured = AuditLog.from_env()
    assert (configured.directory, configured.secret) == (AUDIT_DIR_ENV, AUDIT_SECRET_ENV)
    assert isinstance(configured.secret, dg.EnvVar)
    monkeypatch.delenv(AUDIT_SECRET_ENV)
    assert AuditLog.from_env().missing() == [AUDIT_SECRET_ENV]
