"""Benchmark tap-kustomer against the local Kustomer API, and the PyPI peer beside it.

Run it through ``scripts/benchmark`` (which sets up ``.bench/peer-venv`` and runs
``python -m benchmarks``); ``--quick`` runs smaller orgs as a smoke check. Every scenario
starts its own local API process (``kustomer-local-api``, seed 7) on 127.0.0.1 through
``kustomer_api.process`` and runs the taps as subprocesses with a config file and a catalog
selecting the scenario's streams; Singer output goes to files under ``.bench/runs/`` and is
parsed for record counts and ids. Nothing is sent anywhere but 127.0.0.1.

1. budget use: 300 ms latency, server limits 1000/min (org) and 100/min (search), the tap
   at its defaults (500/min, 50 searches/min), 1,200 conversations with conversations,
   tickets, conversation_events, messages and customers selected: requests per minute over
   the busy part (the server's counters sampled every 0.25 s), the fullest 60-second window
   (org and search, from the server's log of arrival times); 429s. Then the searches of
   the conversation context: the three streams that read it against conversations alone,
   on the same org.
2. shared budget: the same, with another consumer spending 500/min of the org's 1000;
   exit code, ids emitted per stream against ``/__admin/truth``, 429s.
3. CPU: no latency, server limits 10^7, both taps at their largest budgets,
   conversations + messages; records per CPU-second of the tap process (``os.wait4``).
4. memory: peak RSS of the tap (``VmHWM`` of ``/proc/<pid>/status``, polled every 0.1 s)
   for a small and a large org; the large run is the CPU run of scenario 3.
5. requests per 1,000 conversations for the streams both taps have, same org; and, for
   our conversation_events and tickets, from scenario 1's run.

The modules: ``common`` (paths, sizes, budgets, targets), ``runner`` (the local API and
the two taps as processes), ``cost`` (a process's CPU and peak RSS), ``measurement`` (the
request timeline and its windows, records against the truth), ``scenarios`` (what each
scenario runs), ``table`` (a row per figure, with its verdict), ``report`` (the Markdown
block and RESULTS.md), ``__main__`` (the command line). Only the standard library,
requests and the local API's package are used.
"""
