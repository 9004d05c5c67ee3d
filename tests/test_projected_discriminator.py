"""The projected discriminator: frozen ImageNet features stay frozen, heads learn, labels condition."""

from __future__ import annotations

import pytest
import torch

from zoo.models.projected import ProjectedDiscriminator, minibatch_stddev

pytest.importorskip("efficientnet_lite_pytorch")


@pytest.fixture(scope="module")
def pretrained_d() -> ProjectedDiscriminator:
    torch.manual_seed(0)
    return ProjectedDiscriminator(resolution=32, head_channels=8, projection_channels=(8, 8, 16, 16))


def test_output_is_one_logit_per_head_patch(pretrained_d):
    out = pretrained_d(torch.rand(4, 3, 32, 32) * 2 - 1)
    # 32 px: stages at 8, 4, 2, 1 -> heads give 4x4, 4x4, 2x2, 1x1 patches, each repeated to 4x4
    # so that every scale has the same weight in the loss.
    assert out.logits.shape == (4, 64)
    assert torch.equal(out.logits[:, 48:], out.logits[:, 48:49].expand(-1, 16))  # the 1x1 head, repeated
    assert out.class_logits is None


def test_feature_network_is_pretrained_frozen_and_stays_in_eval_mode(pretrained_d):
    d = pretrained_d
    d.requires_grad_(True)
    d.train()
    features = [p for n, p in d.named_parameters() if n.startswith("features.")]
    assert features and not any(p.requires_grad for p in features)
    assert not d.features.training and d.heads.training
    assert set(map(id, d.trainable_parameters())) == {id(p) for p in d.parameters() if p.requires_grad}
    # ImageNet weights, not a random init: the stem's BatchNorm statistics are not the defaults.
    bn = d.features["network"].stem[1]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))


def test_one_optimiser_step_changes_heads_only_and_gradients_reach_the_images(pretrained_d):
    d = pretrained_d
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    images = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_(True)
    opt = torch.optim.Adam(d.trainable_parameters(), lr=1e-2)
    loss = d(images).logits.mean()
    loss.backward()
    opt.step()
    assert images.grad is not None and images.grad.abs().sum() > 0
    for name, param in d.named_parameters():
        changed = not torch.equal(before[name], param.detach())
        assert changed == (not name.startswith("features.")) or "class_embedding" in name, name


def test_projection_conditioning_uses_the_labels():
    torch.manual_seed(0)
    d = ProjectedDiscriminator(resolution=32, num_classes=3, head_channels=8, projection_channels=(8, 8, 16, 16)).eval()
    with torch.no_grad():
        for head in d.heads:
            head.class_embedding.parametrizations.weight.original.normal_()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    a = d(images, torch.tensor([0, 0])).logits
    b = d(images, torch.tensor([2, 2])).logits
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="class_labels"):
        d(images)


def test_auxiliary_classifier_head_predicts_classes():
    d = ProjectedDiscriminator(resolution=32, num_classes=2, class_head="ac", head_channels=8,
                               projection_channels=(8, 8, 16, 16))
    out = d(torch.rand(3, 3, 32, 32) * 2 - 1)
    assert out.class_logits.shape == (3, 2)


def test_minibatch_stddev_sees_a_batch_without_variety():
    same = torch.ones(4, 2, 3, 3)
    varied = torch.randn(4, 2, 3, 3)
    assert minibatch_stddev(same)[:, -1].abs().max() < 1e-3
    assert minibatch_stddev(varied)[:, -1].min() > 0.1


@pytest.mark.parametrize("kwargs, message", [
    ({"resolution": 48}, "resolution"),
    ({"class_head": "bogus"}, "class_head"),
    ({"projection_channels": (8, 8)}, "projection_channels"),
    ({"feature_resolution": 100}, "feature_resolution"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProjectedDiscriminator(pretrained=False, **kwargs)


def test_pixel_discriminator_adds_one_global_vote_per_image():
    torch.manual_seed(0)
    d = ProjectedDiscriminator(resolution=32, head_channels=8, projection_channels=(8, 8, 16, 16), pixel_channels=8)
    out = d(torch.rand(3, 3, 32, 32) * 2 - 1)
    assert out.logits.shape == (3, 80)  # four heads + the pixel D, 16 votes each
    assert torch.equal(out.logits[:, 64:], out.logits[:, 64:65].expand(-1, 16))
    assert any(n.startswith("pixel.") for n, _ in d.named_parameters()) and d.pixel.training
    assert {id(p) for p in d.pixel.parameters()} <= {id(p) for p in d.trainable_parameters()}


def test_sketch_condition_changes_the_verdict_on_the_same_photo():
    from zoo.models.projected import SketchProjectedDiscriminator

    torch.manual_seed(0)
    d = SketchProjectedDiscriminator(resolution=32, head_channels=8, projection_channels=(8, 8, 16, 16)).eval()
    photo = torch.rand(2, 3, 32, 32) * 2 - 1
    a = d(torch.ones(2, 3, 32, 32), photo).logits
    b = d(-torch.ones(2, 3, 32, 32), photo).logits
    assert a.shape == (2, 64) and not torch.allclose(a, b)


def test_caption_condition_gives_conditional_and_unconditional_logits():
    from zoo.models.projected import TextProjectedDiscriminator

    torch.manual_seed(0)
    d = TextProjectedDiscriminator(resolution=32, head_channels=8, projection_channels=(8, 8, 16, 16), condition_dim=6).eval()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    one, other = d(images, torch.randn(2, 6)), d(images, torch.randn(2, 6))
    assert not torch.allclose(one.logits, other.logits)
    assert torch.equal(one.unconditional_logits, other.unconditional_logits)  # the caption is not used
    assert one.class_logits is None  # no auxiliary classifier unless asked for
    with pytest.raises(ValueError, match="condition"):
        ProjectedDiscriminator.forward(d, images)
