"""Concept drift: the champion's ranking quality on a day whose labels have matured, against
its own evaluation at training time.

A drop of the day's ROC-AUC below the training ROC-AUC is *significant* when it exceeds both
`min_drop` and `z` standard errors of an AUC on the day's numbers of frauds and legitimate
payments (Hanley & McNeil 1982, at the training AUC): with a handful of frauds a day the AUC
moves by several points by chance, and such days must not alert.
"""

import math
from dataclasses import dataclass


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley-McNeil standard error of an ROC-AUC estimated on `positives` and `negatives`
    (exact for exponential score distributions; larger than the true spread for binormal ones,
    so the rule errs towards fewer alerts)."""
    if positives < 1 or negatives < 1:
        return math.inf
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class DropRule:
    min_drop: float = 0.02
    """ROC-AUC points below training that are never an alert."""
    z: float = 2.0
    """Standard errors the drop must exceed (one-sided, about 2.3% false alarms per day)."""


@dataclass
class DropVerdict:
    drop: float
    standard_error: float
    threshold: float
    significant: bool

    @property
    def reason(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (
            f"ROC-AUC drop {self.drop:+.4f} vs threshold {self.threshold:.4f} "
            f"(max(min_drop, z x SE {self.standard_error:.4f})): {verdict}"
        )


def judge_drop(
    day_auc: float, positives: int, negatives: int, training_auc: float, rule: DropRule
) -> DropVerdict:
    error = auc_standard_error(training_auc, positives, negatives)
    threshold = max(rule.min_drop, rule.z * error)
    drop = training_auc - day_auc
    return DropVerdict(drop, error, threshold, drop > threshold)
