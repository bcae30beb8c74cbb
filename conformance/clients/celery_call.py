"""Calls tasks on a running Celery worker (celery_app.py) and waits for their results over rpc://.
Usage: celery_call.py (environment as for celery_app.py)"""
from celery_app import add, echo_headers
from common import emit

r = add.delay(2**40, 3)
emit("result", task="add", value=r.get(timeout=30))
r = echo_headers.apply_async(args=[2**41], headers={"custom_big": 2**42})
emit("result", task="echo_headers", value=r.get(timeout=30))
emit("done")
