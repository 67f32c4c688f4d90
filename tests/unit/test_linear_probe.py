"""The linear probe beats chance when the classes are separable and not when labels are shuffled."""

import torch

from langneurons.tasks.linear_probe import held_out, probe_hits


def probe_accuracy(features, labels, train):
    return float(probe_hits(features, labels, train).mean())


def clusters(seed=0, n=600, width=64, classes=5):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, width, generator=g) * 0.8
    labels = torch.randint(0, classes, (n,), generator=g)
    features = centers[labels] + torch.randn(n, width, generator=g)
    train = torch.arange(n) % 10 < 7
    return features, labels, train, g


def test_separable_classes_are_named_on_held_out_rows():
    features, labels, train, _ = clusters()
    assert probe_accuracy(features, labels, train) > 0.95


def test_shuffled_labels_give_chance():
    features, labels, train, g = clusters()
    shuffled = labels[torch.randperm(len(labels), generator=g)]
    accuracies = [probe_accuracy(features, shuffled, train)]
    features, labels, train, g = clusters(seed=1)
    accuracies.append(
        probe_accuracy(features, labels[torch.randperm(len(labels), generator=g)], train)
    )
    assert all(0.1 < a < 0.3 for a in accuracies), accuracies  # chance is 0.2


def test_fit_is_deterministic_and_scores_each_held_out_row():
    features, labels, train, _ = clusters()
    hits = probe_hits(features, labels, train)
    assert hits.shape == (int((~train).sum()),) and set(hits.tolist()) <= {0.0, 1.0}
    assert (hits == probe_hits(features, labels, train)).all()


def test_held_out_concepts_are_a_seeded_share():
    concepts = [f"c{i}" for i in range(100)] * 3
    test = held_out(concepts, 0.3, seed=0)
    assert len(test) == 30 and test <= set(concepts)
    assert held_out(concepts, 0.3, seed=0) == test
    assert held_out(concepts, 0.3, seed=1) != test
