"""The significance rule of a performance drop: Hanley-McNeil's standard error against a
simulation, and the verdicts it gives."""

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from platform_assets.monitoring.performance import DropRule, auc_standard_error, judge_drop


def test_standard_error_matches_the_spread_of_simulated_aucs():
    rng = np.random.default_rng(3)
    positives, negatives, separation = 40, 4000, 1.5
    aucs = []
    for _ in range(400):
        scores = np.concatenate([rng.normal(separation, 1, positives), rng.normal(0, 1, negatives)])
        labels = np.r_[np.ones(positives), np.zeros(negatives)]
        aucs.append(roc_auc_score(labels, scores))
    simulated = float(np.std(aucs))
    formula = auc_standard_error(float(np.mean(aucs)), positives, negatives)
    # Hanley-McNeil assumes exponential score distributions; on binormal scores it
    # overestimates the spread (seen: 0.038 vs 0.029), which errs towards fewer alerts
    assert simulated <= formula <= 1.5 * simulated


def test_standard_error_edges():
    assert auc_standard_error(0.9, 0, 100) == math.inf
    assert auc_standard_error(1.0, 10, 100) == 0.0
    assert auc_standard_error(0.9, 10, 1000) > auc_standard_error(0.9, 1000, 1000)


def test_drop_verdicts():
    rule = DropRule(min_drop=0.02, z=2.0)
    # a few frauds: a 10-point drop is within chance
    few = judge_drop(0.85, 4, 400, 0.95, rule)
    assert not few.significant and few.threshold > 0.1
    # many frauds: the same drop is significant
    many = judge_drop(0.85, 500, 50_000, 0.95, rule)
    assert many.significant and "significant" in many.reason
    # tiny drops never alert, improvements never alert
    assert not judge_drop(0.94, 10_000, 1_000_000, 0.95, rule).significant
    assert not judge_drop(0.99, 500, 50_000, 0.95, rule).significant
