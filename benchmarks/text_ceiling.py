"""Bayes-optimal text-only MAE of a synthetic ground: how far can any model that reads the text get?

The generator (``mifusion.data.synthetic``) draws each sample's words i.i.d. from
``softmax(base + text_signal * s * polarity + shared_strength * z A + private_strength * u B)`` with
``s = 2 label / 3``, ``z ~ N(0, I_4)`` (shared with audio and vision), ``u ~ N(0, I_4)`` (private). With
its parameters (``base``, ``polarity``, ``A``, ``B``, regenerated from the seed) the posterior of the label
given a sample's word counts is, on the label grid (step 1/6),

    p(y | counts) ∝ prior(y) * E_{z, u ~ N(0, I)} prod_w softmax(logits(y, z, u))_w ^ counts_w,

whose expectation this script estimates by Monte Carlo over ``K`` prior draws of (z, u) (the same draws
for every y and sample). The posterior median minimises expected absolute error, so its test MAE is the
Bayes-optimal MAE of ANY text-only predictor, up to Monte Carlo error (printed for two values of K).
Audio and vision are not covered: their per-frame likelihood (a random tanh map of jittered inputs plus
noise) has no closed form.

Run::

    python benchmarks/text_ceiling.py mmsa_unaligned [DRAWS ...]   # or mmsa_aligned / synthetic; 5000 20000
"""

from __future__ import annotations

import sys

import numpy as np

from mifusion.data.synthetic import SynthParams, generate
from mifusion.data.synthetic_layout import sample_labels

GROUNDS = {  # generate() arguments of benchmarks/baselines.py's synthetic grounds
    "synthetic": {"n": 600, "seed": 0, "aligned": False, "params": SynthParams()},
    "mmsa_aligned": {"n": 1000, "seed": 1, "aligned": True, "params": SynthParams()},
    "mmsa_unaligned": {
        "n": 1000,
        "seed": 2,
        "aligned": False,
        "params": SynthParams(max_lengths={"audio": 150, "vision": 150}, nonfinite_audio_rate=0.02),
    },
}


def text_parameters(seed: int, p: SynthParams) -> tuple[np.ndarray, ...]:
    """base (W,), polarity (W,), A (k, W), B (p, W): the first draws of the generator's text stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(6)[1])
    w = p.vocab_size - 3
    return (rng.normal(0.0, 0.5, w), rng.standard_normal(w),
            rng.standard_normal((p.num_shared, w)), rng.standard_normal((p.num_private, w)))  # fmt: skip


def posterior_medians(counts: np.ndarray, seed: int, p: SynthParams, draws: int, mc_seed: int) -> np.ndarray:
    """(N, W) word counts -> (N,) posterior medians of the label on its 1/6 grid."""
    base, polarity, a, b = text_parameters(seed, p)
    grid = np.arange(-18, 19) / 6.0  # (G,)
    prior = np.bincount(np.round(sample_labels(np.random.default_rng(123), 400_000, 3.0) * 6).astype(int) + 18,
                        minlength=37) / 400_000  # fmt: skip
    rng = np.random.default_rng(mc_seed)
    latent = p.shared_strength * rng.standard_normal((draws, p.num_shared)) @ a
    latent += p.private_strength * rng.standard_normal((draws, p.num_private)) @ b  # (K, W)
    loglik = np.empty((len(counts), len(grid)))
    for g, y in enumerate(grid):
        logits = base + p.text_signal * (2.0 * y / 3.0) * polarity + latent  # (K, W)
        logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        ll = counts @ logp.T  # (N, K)
        top = ll.max(axis=1, keepdims=True)
        loglik[:, g] = top[:, 0] + np.log(np.exp(ll - top).mean(axis=1))
    post = np.log(np.maximum(prior, 1e-300)) + loglik
    post = np.exp(post - post.max(axis=1, keepdims=True))
    cdf = np.cumsum(post / post.sum(axis=1, keepdims=True), axis=1)
    return grid[np.argmax(cdf >= 0.5, axis=1)]


def main(argv: list[str] | None = None) -> int:
    """Prints the ground's Bayes-optimal text-only test MAE for two Monte Carlo sizes."""
    args = argv if argv is not None else sys.argv[1:] or ["mmsa_unaligned"]
    name, sizes = args[0], [int(a) for a in args[1:]] or [5_000, 20_000]
    kwargs = GROUNDS[name]
    params: SynthParams = kwargs["params"]  # type: ignore[assignment]
    test = generate("mosi", **kwargs)["test"]  # type: ignore[arg-type]
    ids = np.asarray(test.token_ids)
    counts = np.zeros((len(ids), params.vocab_size))
    np.add.at(counts, (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.reshape(-1)), 1.0)
    counts = counts[:, 3:]  # [PAD], [CLS], [SEP] carry no label information
    for draws in sizes:
        pred = posterior_medians(counts, int(kwargs["seed"]), params, draws, mc_seed=draws)  # type: ignore[arg-type]
        mae = float(np.mean(np.abs(pred - np.asarray(test.labels))))
        print(
            f"{name}: Bayes-optimal text-only test MAE {mae:.3f} (n {len(pred)}, {draws} Monte Carlo draws)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
