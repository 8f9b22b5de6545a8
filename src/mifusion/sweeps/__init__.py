"""Hyper-parameter sweeps: Optuna studies over a config's declared ``search_space``.

One study lives in one storage (SQLite for one machine, PostgreSQL for several); any number of workers
with the same storage URL and study name join it. Selection uses the validation metric only.
"""
