"""Every extension of Celery, kombu and redis-py that relies on their private names, fenced here.

Each module's docstring lists the private names it relies on; all were read from Celery 5.7.0 and
kombu 5.7.0, the minor versions pyproject.toml pins. Nothing outside this package uses a private
name of those libraries (nor of redis-py). If an upgrade breaks them, TRUNKCTL_STOCK_CELERY=1
runs the same product on the libraries' public paths instead (slower, tested in CI):

| module | what it is | its stock replacement |
|---|---|---|
| `transport` | kombu's Redis transport, cheaper per message | kombu's `redis` transport |
| `pool` | a pool that awaits tasks on the process's event loop | Celery's `threads` pool |
| `messages` | task messages built by hand (protocol 2, kombu's envelope) | Celery's `send_task` |
"""
