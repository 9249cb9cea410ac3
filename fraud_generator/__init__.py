"""Deterministic generator of card-payment landing files and their ground truth.

An independent oracle for the platform: it shares no code with `platform_assets`.

    from fraud_generator import GeneratorConfig, generate
    truth = generate(GeneratorConfig(out_dir=Path("landing"), start=date(2024, 1, 1), days=3))
"""

from fraud_generator.config import GeneratorConfig
from fraud_generator.generate import generate
from fraud_generator.truth import GroundTruth

__all__ = ["GeneratorConfig", "GroundTruth", "generate"]
