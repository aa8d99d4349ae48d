"""The `features` command's text form: one line per features section, the numbers rules test most."""
from __future__ import annotations

from diagnose.features import Features


def features_text(f: Features) -> str:
    n, s, sc, fd, gc, th, t = f.network, f.scheduling, f.syscalls, f.fds, f.gc, f.threads, f.trace
    lines = [
        f"trace        {t.path}  {t.format_label}  {t.duration_ms:.1f} ms  {t.event_count} events  "
        f"{t.goroutine_count} goroutines  GOMAXPROCS {t.gomaxprocs_min}..{t.gomaxprocs_max}",
        f"network      {n.waits.count} waits ({n.waits_per_s:.1f}/s), p50 {n.waits.p50_ms:.2f} ms, p95 "
        f"{n.waits.p95_ms:.2f} ms; write share {n.write_wait_share:.2f}; never ended {n.never_ended_count}; "
        f"parked whole window {n.parked_whole_window_count}",
        f"scheduling   wake-to-run after network p50 {s.wake_to_run_after_network.p50_ms:.3f} ms, p95 "
        f"{s.wake_to_run_after_network.p95_ms:.3f} ms, max {s.wake_to_run_after_network.max_ms:.3f} ms; behind "
        f"CPU-bound {s.share_behind_cpu_bound:.2f}; P busy {s.p_busy_fraction:.2f}; CPU-bound goroutines "
        f"{s.cpu_bound_goroutines}",
        f"syscalls     {sc.count} ({sc.per_s:.0f}/s, writes {sc.write_per_s:.0f}/s); raw user I/O "
        f"{sc.raw_user_io_count} ({sc.blocking_raw_io_count} blocking); blocking accepts {sc.blocking_accept_count}; "
        f"lost P {sc.lost_p_per_s:.1f}/s; steals {sc.proc_steals}",
        f"fds          raw closes {fd.raw_close_count}; finalizer closes {fd.finalizer_close_count}; set blocking "
        f"{fd.set_blocking_count}; raw fd I/O {fd.raw_fd_io_count}; connections {fd.connections}",
        f"gc           {gc.gc_count} cycles, {100 * gc.gc_time_share:.1f}% of the time, mark assist "
        f"{100 * gc.mark_assist_share:.1f}%, STW p95 {gc.stw.p95_ms:.3f} ms",
        f"threads      {th.max_threads} ({th.threads_created} first seen late)",
    ]
    return "\n".join(lines) + "\n"
