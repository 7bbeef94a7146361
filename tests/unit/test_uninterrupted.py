"""Signals held while a job is stored and queued: collected for after the block, never lost."""

from __future__ import annotations

import os
import signal
import threading

from producer.uninterrupted import signals_held


def test_ctrl_c_and_sigterm_wait_for_the_end_of_the_block() -> None:
    steps: list[str] = []
    with signals_held() as received:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        steps.append("finished")  # reached: neither signal cut the block short
    assert steps == ["finished"]
    assert received == [signal.SIGINT, signal.SIGTERM]


def test_handlers_are_restored_after_the_block() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with signals_held() as received:
        assert signal.getsignal(signal.SIGINT) is not before[0]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert received == []


def test_outside_the_main_thread_nothing_is_held() -> None:
    seen: list[object] = []

    def run() -> None:
        with signals_held() as received:
            seen.append(signal.getsignal(signal.SIGINT))
        seen.append(received)

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before, []]
