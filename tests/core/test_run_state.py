"""What a checkpoint must share with the run that continues it."""

from sdae.core.run_state import _same_signature

OLD_STACK = {"model": {"layers": [{"n_visible": 4}], "n_classes": 3}, "data": [[10, 4]]}


def with_classes(classes, n_classes=3):
    model = {**OLD_STACK["model"], "n_classes": n_classes, "classes": classes}
    return {**OLD_STACK, "model": model}


def test_a_stack_of_sdae_0_1_continues_when_its_labels_are_the_default():
    assert _same_signature(OLD_STACK, with_classes([0, 1, 2]))
    assert _same_signature(OLD_STACK, with_classes(None))


def test_other_labels_other_models_or_other_data_do_not_continue():
    assert not _same_signature(OLD_STACK, with_classes([3, 7, 9]))
    assert not _same_signature(OLD_STACK, with_classes([0, 1, 2, 3], n_classes=4))
    assert not _same_signature(with_classes([3, 7, 9]), with_classes([0, 1, 2]))
    other_data = {**with_classes([0, 1, 2]), "data": [[11, 4]]}
    assert not _same_signature(OLD_STACK, other_data)
    assert _same_signature(with_classes(["a", "b", "c"]), with_classes(["a", "b", "c"]))
