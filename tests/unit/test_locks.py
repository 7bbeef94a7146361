"""Owner tokens of locks and slot leases: unique in a process and across forked children."""

from __future__ import annotations

import multiprocessing

from jobs.locks import owner_token


def _prefix(token: str) -> str:
    return token.rsplit("-", 1)[0]


def test_tokens_of_one_process_are_all_different() -> None:
    tokens = [owner_token() for _ in range(10_000)]
    assert len(set(tokens)) == len(tokens)


def _child_token(queue: multiprocessing.Queue[str]) -> None:
    queue.put(owner_token())


def test_a_forked_child_does_not_reuse_its_parents_tokens() -> None:
    context = multiprocessing.get_context("fork")  # as Celery's prefork pool starts its children
    queue: multiprocessing.Queue[str] = context.Queue()
    child = context.Process(target=_child_token, args=(queue,))
    child.start()
    child_token = queue.get(timeout=30)
    child.join(timeout=30)
    assert _prefix(child_token) != _prefix(owner_token())
