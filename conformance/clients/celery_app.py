"""A Celery app for the conformance test: its broker is warren (py-amqp transport), results come
back over the rpc:// backend. WARREN_URL and WARREN_CELERY_QUEUE come from the environment."""
import os

from celery import Celery

app = Celery("warren_conformance", broker=os.environ["WARREN_URL"], backend="rpc://")
app.conf.update(
    task_default_queue=os.environ["WARREN_CELERY_QUEUE"],
    broker_connection_retry_on_startup=False,
    broker_connection_max_retries=0,
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
    task_acks_late=True,
)


@app.task
def add(x, y):
    return x + y


@app.task
def echo_headers(big):
    return {"big": big, "type": type(big).__name__}
