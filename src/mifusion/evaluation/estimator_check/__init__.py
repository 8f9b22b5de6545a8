"""The estimator ground-truth check: estimators trained on tasks with known mutual information, graded.

Modules: :mod:`~mifusion.evaluation.estimator_check.records` (protocol, run, row),
:mod:`~mifusion.evaluation.estimator_check.harness` (train, evaluate, grade) and
:mod:`~mifusion.evaluation.estimator_check.report` (tables, JSON, plots). The tasks themselves live in
:mod:`mifusion.estimators.ground_truth` (and the estimators in :mod:`mifusion.estimators`).
"""
