"""The reference preprocessing functions meet the exercise contract on fixed and random inputs."""

import numpy as np
import pytest

RANDOM_SEEDS = range(5)


def random_images(seed, count=None, side=28):
    rng = np.random.default_rng(seed)
    count = rng.integers(0, 40) if count is None else count
    return rng.integers(0, 256, size=(count, side, side), dtype=np.uint8)


class TestNormalize:
    def test_fixed_values(self, reference):
        images = np.array([[0, 51, 255]], dtype=np.uint8)
        result = reference.preprocessing.normalize(images)
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, np.array([[0.0, 0.2, 1.0]], dtype=np.float32))

    @pytest.mark.parametrize("seed", RANDOM_SEEDS)
    def test_random_any_shape(self, reference, seed):
        rng = np.random.default_rng(seed)
        shape = tuple(rng.integers(1, 6, size=rng.integers(1, 5)))
        images = rng.integers(0, 256, size=shape, dtype=np.uint8)
        before = images.copy()
        result = reference.preprocessing.normalize(images)
        assert result.shape == images.shape and result.dtype == np.float32
        assert result.min() >= 0.0 and result.max() <= 1.0
        np.testing.assert_allclose(result, images.astype(np.float64) / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(images, before)
        assert result is not images and not np.shares_memory(result, images)


class TestFlatten:
    def test_row_major_order(self, reference):
        images = np.arange(2 * 28 * 28, dtype=np.int32).reshape(2, 28, 28)
        result = reference.preprocessing.flatten(images)
        assert result.shape == (2, 784) and result.dtype == images.dtype
        assert result[1, 3 * 28 + 5] == images[1, 3, 5]

    @pytest.mark.parametrize("seed", RANDOM_SEEDS)
    def test_random(self, reference, seed):
        images = random_images(seed)
        before = images.copy()
        result = reference.preprocessing.flatten(images)
        assert result.shape == (len(images), 784) and result.dtype == np.uint8
        for i in range(len(images)):
            np.testing.assert_array_equal(result[i], np.concatenate(list(images[i])))
        np.testing.assert_array_equal(images, before)

    def test_empty_batch(self, reference):
        assert reference.preprocessing.flatten(np.zeros((0, 28, 28), np.float32)).shape == (0, 784)


class TestAddChannelAxis:
    @pytest.mark.parametrize("dtype", [np.uint8, np.float32])
    def test_shape_dtype_values(self, reference, dtype):
        images = random_images(7, count=3).astype(dtype)
        result = reference.preprocessing.add_channel_axis(images)
        assert result.shape == (3, 28, 28, 1) and result.dtype == dtype
        np.testing.assert_array_equal(result[..., 0], images)


class TestOneHot:
    def test_handout_example(self, reference):
        # Handout 002 In[9] and 003: 5 -> (0, 0, 0, 0, 0, 1, 0, 0, 0, 0)
        result = reference.preprocessing.one_hot(np.array([5], dtype=np.uint8))
        np.testing.assert_array_equal(result, [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]])
        assert result.dtype == np.float32

    @pytest.mark.parametrize("seed", RANDOM_SEEDS)
    def test_random(self, reference, seed):
        rng = np.random.default_rng(seed)
        classes = int(rng.integers(2, 15))
        labels = rng.integers(0, classes, size=rng.integers(1, 50)).astype(np.uint8)
        before = labels.copy()
        result = reference.preprocessing.one_hot(labels, num_classes=classes)
        assert result.shape == (len(labels), classes) and result.dtype == np.float32
        np.testing.assert_array_equal(result, np.eye(classes, dtype=np.float32)[labels])
        np.testing.assert_array_equal(result.sum(axis=1), 1.0)
        np.testing.assert_array_equal(labels, before)

    @pytest.mark.parametrize("bad", [[-1], [10], [3, 12]])
    def test_out_of_range_is_an_error(self, reference, bad):
        with pytest.raises(ValueError, match="0..9"):
            reference.preprocessing.one_hot(np.array(bad))

    def test_does_not_use_to_categorical(self):
        from tests.conftest import REPO

        source = (REPO / "solutions" / "mnist_tasks" / "preprocessing.py").read_text(encoding="utf-8")
        assert "to_categorical(" not in source.replace("``to_categorical``", "")


class TestLabelsFromScores:
    def test_probabilities_logits_and_one_hot(self, reference):
        scores = np.array([[0.1, 0.7, 0.2], [-3.0, -1.0, -2.0], [0, 0, 1]], dtype=np.float32)
        result = reference.preprocessing.labels_from_scores(scores)
        assert result.shape == (3,) and np.issubdtype(result.dtype, np.integer)
        np.testing.assert_array_equal(result, [1, 1, 2])

    @pytest.mark.parametrize("seed", RANDOM_SEEDS)
    def test_inverts_one_hot(self, reference, seed):
        labels = np.random.default_rng(seed).integers(0, 10, size=64)
        encoded = reference.preprocessing.one_hot(labels)
        np.testing.assert_array_equal(reference.preprocessing.labels_from_scores(encoded), labels)
