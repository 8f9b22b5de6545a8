"""Experiments: the one layer that reads a whole :class:`~mifusion.config.ExperimentConfig`.

The config checks (``validation``), the data pipeline from a config (``pipeline``), the trainer built from
a config (``build``), the seeds run into a run directory (``runner``, ``run_dir``, ``run_guard``), and a
trained run read back with its commands (``run``, ``commands``). The layers below take typed arguments.
"""
