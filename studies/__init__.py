"""The claim studies: research code that tests the papers' claims with mifusion, kept apart from benchmarks/.

Run one from the repository root with ``python -m studies NAME [options]`` (``python -m studies list``).
Every arm's results carry the hash of its resolved config and of mifusion's code (:mod:`studies.provenance`):
an arm whose hashes differ from what is on disk is moved aside and re-run, never reused.
"""
