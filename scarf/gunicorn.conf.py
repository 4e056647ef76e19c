"""gunicorn settings for the dashboard service of the production topology
(`gunicorn -c scarf/gunicorn.conf.py scarf.wsgi`): the dashboard, the API and the
TLS edge's question, in processes of their own, apart from the gateway's
(`python -m scarf.serving`), so neither can take the other's workers."""

import multiprocessing
import os

bind = f"{os.environ.get('BIND', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 60
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
