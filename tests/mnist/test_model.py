"""mnist.model: the models' construction."""

import numpy as np

import autograd as ag
from mnist.model import cnn


def test_cnn_with_a_seeded_rng_repeats_its_dropout_masks_in_training_mode() -> None:
    x = ag.Tensor(np.random.default_rng(1).random((2, 1, 28, 28), dtype=np.float32))
    outputs = []
    for _ in range(2):
        model = cnn(rng=np.random.default_rng(0), dropout=0.5).train()
        outputs.append([model(x).numpy() for _ in range(2)])
    np.testing.assert_array_equal(outputs[0], outputs[1])  # the same run twice
    assert not np.array_equal(*outputs[0])  # while each step draws new masks
