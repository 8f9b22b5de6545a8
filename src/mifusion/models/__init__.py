"""Fusion models; importing this package registers every model in ``MODELS``."""

from mifusion.models import (
    ef_lstm,
    graph_mfn,
    lf_dnn,
    lmf,
    mag_bert,
    mfm,
    mfn,
    misa,
    mlf_dnn,
    mlmf,
    mmim,
    mtfn,
    mult,
    self_mm,
    tfn,
)
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput, ParamGroups

__all__ = [
    "MODELS",
    "FusionModel",
    "ModelEntry",
    "ModelOutput",
    "ParamGroups",
    "ef_lstm",
    "graph_mfn",
    "lf_dnn",
    "lmf",
    "mag_bert",
    "mfm",
    "mfn",
    "misa",
    "mlf_dnn",
    "mlmf",
    "mmim",
    "mtfn",
    "mult",
    "self_mm",
    "tfn",
]
