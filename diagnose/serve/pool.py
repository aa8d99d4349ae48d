"""A bounded worker pool with a bounded queue: a request either gets a place or is refused.

Slack needs its ack within 3 s, and a CI job posting to /diagnose needs an answer, so nobody
waits for a place: `submit` returns False at once when the queue is full and the caller says
"queue full". At most `workers` analyses run (one child each) and at most `queue` wait.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Protocol

log = logging.getLogger("netpoll_diagnose.serve")


class Job(Protocol):
    def run(self) -> None: ...

    def abandon(self) -> None:
        """Called instead of run() for a job still queued at shutdown."""


class FnJob:
    """A job from plain callables (the HTTP endpoint's)."""

    def __init__(self, run: Callable[[], None], abandon: Callable[[], None] | None = None) -> None:
        self._run, self._abandon = run, abandon

    def run(self) -> None:
        self._run()

    def abandon(self) -> None:
        if self._abandon:
            self._abandon()


class WorkPool:
    def __init__(self, workers: int, queue_size: int) -> None:
        self.workers = max(1, workers)
        self._q: queue.Queue = queue.Queue(maxsize=max(0, queue_size) or 1)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.running = 0
        self._threads = [threading.Thread(target=self._loop, name=f"diagnose-worker-{i}", daemon=True)
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()

    @property
    def queued(self) -> int:
        return self._q.qsize()

    def submit(self, job: Job) -> bool:
        """Queue `job`; False (at once) when the queue is full or the pool is shutting down."""
        with self._lock:  # against shutdown(): a job put after its drain would be neither run nor abandoned
            if self._stop.is_set():
                return False
            try:
                self._q.put_nowait(job)
            except queue.Full:
                return False
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._q.get(timeout=0.2)
            except queue.Empty:
                continue
            if job is None or self._stop.is_set():
                if job is not None:
                    self._abandon(job)
                break
            with self._lock:
                self.running += 1
            try:
                job.run()
            except Exception:  # a job's bug must not kill the worker; the job logged its request
                log.exception("job failed")
            finally:
                with self._lock:
                    self.running -= 1

    @staticmethod
    def _abandon(job: Job) -> None:
        try:
            job.abandon()
        except Exception:
            log.exception("abandon failed")

    def shutdown(self, grace_s: float) -> int:
        """Stop taking jobs, abandon the queued ones, give running ones `grace_s` to finish.

        Returns how many workers were still busy after the grace period (their children are
        then killed by the caller; each job removes its own temporary files as it unwinds).
        """
        with self._lock:
            self._stop.set()
        while True:
            try:
                job = self._q.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._abandon(job)
        for t in self._threads:
            t.join(timeout=max(0.0, grace_s) / len(self._threads))
        return sum(t.is_alive() for t in self._threads)

    def join(self, timeout_s: float) -> None:
        for t in self._threads:
            t.join(timeout=timeout_s)
