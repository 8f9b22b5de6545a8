"""MMIM's parameter names: MMSA 2.2.1's onto mifusion's, for the differential test (test_mmim_vs_mmsa.py)."""

from __future__ import annotations

import torch

UNUSED = "Model.bertmodel.model.pooler."
"""MMSA loads BERT with its pooler, which MMIM never uses (no gradient, never stepped); mifusion has none."""


def name_map(mmsa_names: list[str]) -> dict[str, str]:
    """MMSA parameter name -> mifusion parameter name (explicit rules; the test checks it is a bijection
    between MMSA's parameters other than :data:`UNUSED` and all of mifusion's)."""
    rules = [
        ("Model.bertmodel.model.", "encoders.encoders.text.model."),
        ("Model.fusion_prj.linear_1.", "fusion.1."),
        ("Model.fusion_prj.linear_2.", "fusion.3."),
        ("Model.fusion_prj.linear_3.", "head."),
        ("Model.cpc_zt.net.", "objective.cpc.text.predictor.0."),
        ("Model.cpc_za.net.", "objective.cpc.audio.predictor.0."),
        ("Model.cpc_zv.net.", "objective.cpc.vision.predictor.0."),
    ]
    for short, pair in (("tv", "text_vision"), ("ta", "text_audio")):
        rules += [
            (f"Model.mi_{short}.mlp_mu.", f"objective.likelihoods.{pair}.q.mean."),
            (f"Model.mi_{short}.mlp_logvar.", f"objective.likelihoods.{pair}.q.log_variance."),
            (f"Model.mi_{short}.entropy_prj.0.", f"objective.projections.{pair}."),
        ]
    for mmsa, ours in (("acoustic_enc", "audio"), ("visual_enc", "vision")):
        rules.append((f"Model.{mmsa}.linear_1.", f"encoders.encoders.{ours}.project."))
    out: dict[str, str] = {}
    for name in (n for n in mmsa_names if not n.startswith(UNUSED)):
        for mmsa_enc, ours in (("acoustic_enc", "audio"), ("visual_enc", "vision")):
            prefix = f"Model.{mmsa_enc}.rnn."
            if name.startswith(prefix):
                weight = name[len(prefix) :]
                direction = "backward_layers" if weight.endswith("_reverse") else "forward_layers"
                weight = weight.removesuffix("_reverse")
                out[name] = f"encoders.encoders.{ours}.core.{direction}.0.{weight}"
        for mmsa, ours in rules:
            if name.startswith(mmsa):
                out[name] = ours + name[len(mmsa) :]
    return out


def mifusion_names(model: torch.nn.Module, mapping: dict[str, str]) -> dict[int, str]:
    """id(parameter) -> MMSA name, for mifusion's model."""
    by_name = dict(model.named_parameters())
    return {id(by_name[ours]): mmsa for mmsa, ours in mapping.items()}
