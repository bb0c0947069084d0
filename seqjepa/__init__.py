"""seq-JEPA world model (torch only): encoder, action embedding, aggregator, predictor, EMA
target, losses, schedules, probes, frozen-feature evaluation, and pretrained checkpoints
(``model, meta = seqjepa.load_pretrained(path)``; ``model.represent(glimpses, actions)``)."""

from seqjepa.action import ActionEmbedding
from seqjepa.aggregator import Aggregator
from seqjepa.config import SeqJEPAConfig
from seqjepa.ema import ema_momentum, update_ema
from seqjepa.encoder import (
                             ConvNetEncoder,
                             available_encoders,
                             build_encoder,
                             register_encoder,
                             resnet18_encoder,
)
from seqjepa.losses import cosine_similarity_per_item, prediction_loss
from seqjepa.model import SeqJEPA, SeqJEPAOutput
from seqjepa.optim import param_groups_for_weight_decay, set_lr
from seqjepa.predictor import Predictor
from seqjepa.pretrained import load_pretrained, pretrained_meta
from seqjepa.preprocess import STL10_MEAN, STL10_STD, normalize_glimpses
from seqjepa.probes import ActionRegressor, LinearProbe, r2_from_sums, r2_score
from seqjepa.schedules import warmup_cosine_lr
from seqjepa.serialization import CheckpointError, read_checkpoint

__all__ = [
    "ActionEmbedding", "ActionRegressor", "Aggregator", "CheckpointError", "ConvNetEncoder", "LinearProbe",
    "Predictor", "STL10_MEAN", "STL10_STD", "SeqJEPA", "SeqJEPAConfig",
    "SeqJEPAOutput", "available_encoders", "build_encoder", "cosine_similarity_per_item",
    "ema_momentum", "load_pretrained",
    "normalize_glimpses", "param_groups_for_weight_decay", "prediction_loss", "pretrained_meta", "r2_from_sums", "r2_score",
    "read_checkpoint", "register_encoder", "resnet18_encoder", "set_lr", "update_ema", "warmup_cosine_lr",
]
