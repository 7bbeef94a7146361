"""The Celery app: Redis broker, late acks, and the settings that make redelivery bounded."""

from __future__ import annotations

from celery import Celery

from trunkctl.settings import Settings


def make_app(settings: Settings) -> Celery:
    """A Celery app configured for trunk delivery."""
    app = Celery("trunkctl", broker=settings.redis_url, include=["worker.tasks"])
    app.conf.update(
        task_default_queue=settings.queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged only once its item is recorded; a killed worker's tasks come back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Tasks mostly wait on PBXs: many threads per process, each holding one reserved task.
        worker_pool="threads",
        worker_concurrency=settings.worker_concurrency,
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Unacked tasks return to the queue after this; every run of a task is far shorter.
            "visibility_timeout": settings.visibility_timeout_s,
            # kombu sweeps for such tasks every interval x throttle seconds: make it the interval.
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
        },
    )
    return app


settings = Settings.from_env()
app = make_app(settings)
