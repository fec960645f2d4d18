"""PyTorch reimplementation of the project's models, written from docs/method.md and
docs/models.md (torchvision's resnet50 as the ResNet-50 backbone).

Parameter and buffer names equal the C++ models' (models/*.h), so a state_dict() saved here
loads into them unchanged. MGN and MGN-PTL follow the authors' release module layout
(backbone / p1 p2 p3 / ptl / reduction / fc_id_*), including the release's unused copies of
layer3[1:], layer4 and fc inside `backbone`; `used_state_dict` drops those.
"""
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50


# ---------------------------------------------------------------- BConv-Cell and side branch
class BConvCell(nn.Module):
    """gates: 3x3 conv (no bias) -> 4*out channels, split i, f, o, g; state carried detached."""

    def __init__(self, cin, cout, stride=1, zeros_init=False, carry=True):
        super().__init__()
        self.cout, self.zeros_init, self.carry = cout, zeros_init, carry
        self.gates = nn.Conv2d(cin, 4 * cout, 3, stride=stride, padding=1, bias=False)
        self.state = None

    def reset_state(self):
        self.state = None

    def forward(self, x):
        z = self.gates(x)
        n, _, h, w = z.shape
        carry = self.carry and self.training
        if carry and self.state is not None and self.state.shape[2:] == z.shape[2:]:
            prev = self.state[:n]
            if prev.shape[0] < n:
                prev = torch.cat([prev, self.fresh(n - prev.shape[0], h, w)])
        else:
            prev = self.fresh(n, h, w)
        i, f, o, g = z.chunk(4, 1)
        c = torch.sigmoid(f) * prev + torch.sigmoid(i) * torch.tanh(g)
        if carry:
            self.state = c.detach()
        return torch.sigmoid(o) * torch.tanh(c)

    def fresh(self, n, h, w):
        s = torch.zeros(n, self.cout, h, w, device=self.gates.weight.device)
        return s if self.zeros_init else s.normal_(0, 1e-3)


def randomise_bn(model, seed):
    """Random batch-norm affine parameters and running statistics, so that eval mode is not an
    identity (the fixtures of gen_models.py and gen_pth.py)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)


def fuse(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, bias=True), nn.BatchNorm2d(cout), nn.ReLU(True))


def branch_widths(taps):
    """The side branch's widths for backbone taps (channels, stride to the next tap).

    Fuse k: the first is as wide as its tap, later ones half their tap (at least 16); the cell
    after fuse 0 keeps its width, later ones double it; head cells are a quarter of the last
    fuse (at least 16). For ResNet-50 this gives the release's 64/128/256/512, 64/256/512, 128.
    """
    fw = [max(16, c if k == 0 else c // 2) for k, (c, _) in enumerate(taps)]
    cw = [fw[k] if k == 0 else 2 * fw[k] for k in range(len(taps) - 1)]
    return fw, cw, max(16, fw[-1] // 4)


class PTLBranch(nn.Module):
    """bconv1, bconv2 on the image; fuse1..fuseT on (side, tap) pairs with a cell between
    consecutive fuses; one head cell per backbone branch on the last fuse."""

    def __init__(self, image_channels, stem_strides, taps, head_strides, **cell):
        super().__init__()
        fw, cw, hw = branch_widths(taps)
        cells, prev = [], image_channels
        for out, s in zip((16, 32), stem_strides):
            cells.append(BConvCell(prev, out, s, **cell))
            prev = out
        for k in range(len(taps) - 1):
            cells.append(BConvCell(fw[k], cw[k], taps[k][1], **cell))
        self.n_stem, self.n_mid = len(stem_strides), len(taps) - 1
        for s in head_strides:
            cells.append(BConvCell(fw[-1], hw, s, **cell))
        for i, c in enumerate(cells):
            self.add_module(f"bconv{i + 1}", c)
        for k, (c, _) in enumerate(taps):
            side = 32 if k == 0 else cw[k - 1]
            self.add_module(f"fuse{k + 1}", fuse(side + c, fw[k]))
        self.n_fuse = len(taps)
        for m in self.modules():  # the release: Kaiming-normal (fan_in) on every side conv
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")

    def cell(self, i):
        return getattr(self, f"bconv{i + 1}")

    def trunk(self, image, taps):
        s = image
        for i in range(self.n_stem):
            s = self.cell(i)(s)
        for k, t in enumerate(taps):
            # the release concatenates (side, stem) for fuse1 and (tap, side) after that
            s = getattr(self, f"fuse{k + 1}")(torch.cat([s, t] if k == 0 else [t, s], 1))
            if k < self.n_fuse - 1:
                s = self.cell(self.n_stem + k)(s)
        return s

    def head(self, i, z):
        return self.cell(self.n_stem + self.n_mid + i)(z)

    def reset_state(self):
        for m in self.modules():
            if isinstance(m, BConvCell):
                m.reset_state()


def reduction(cin, feats, bias):
    r = nn.Sequential(nn.Conv2d(cin, feats, 1, bias=bias), nn.BatchNorm2d(feats), nn.ReLU())
    nn.init.kaiming_normal_(r[0].weight, mode="fan_in")
    nn.init.normal_(r[1].weight, 1.0, 0.02)
    nn.init.constant_(r[1].bias, 0.0)
    return r


def classifier(feats, k):
    fc = nn.Linear(feats, k)
    nn.init.kaiming_normal_(fc.weight, mode="fan_in")
    nn.init.constant_(fc.bias, 0.0)
    return fc


# ---------------------------------------------------------------- ResNets
class CifarResNet(ResNet):
    """He et al. 2016 CIFAR ResNet-(6n+2): 3x3 stem (16), stages 16/32/64 of BasicBlocks,
    option-B (1x1 conv + BN) shortcuts; torchvision's layer names."""

    def __init__(self, depth, num_classes, in_channels=3):
        nn.Module.__init__(self)
        n = (depth - 2) // 6
        self._norm_layer, self.dilation, self.groups, self.base_width = nn.BatchNorm2d, 1, 1, 64
        self.inplanes = 16
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(BasicBlock, 16, n)
        self.layer2 = self._make_layer(BasicBlock, 32, n, stride=2)
        self.layer3 = self._make_layer(BasicBlock, 64, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _forward_impl(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def make_resnet(name, num_classes, in_channels=3, last_stride=2):
    if name in ("resnet20", "resnet56"):
        return CifarResNet(int(name[6:]), num_classes, in_channels)
    m = {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50}[name](num_classes=num_classes)
    if in_channels != 3:
        m.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        nn.init.kaiming_normal_(m.conv1.weight, mode="fan_out", nonlinearity="relu")
    if last_stride == 1:
        b = m.layer4[0]
        (b.conv2 if isinstance(b, Bottleneck) else b.conv1).stride = (1, 1)
        b.downsample[0].stride = (1, 1)
    return m


def stages(net):
    return [net.layer1, net.layer2, net.layer3] + ([net.layer4] if hasattr(net, "layer4") else [])


def stem(net, x):
    return net.maxpool(net.relu(net.bn1(net.conv1(x))))


def stage_stride(layer):
    b = layer[0]
    conv = b.conv2 if isinstance(b, Bottleneck) else b.conv1
    return conv.stride[0]


def block_out(b):
    return (b.conv3 if isinstance(b, Bottleneck) else b.conv2).out_channels


class PTLResNet(nn.Module):
    """A ResNet plus the PTL side branch with one head cell: taps at the stem, every stage
    but the last two, and the first block of the last-but-one stage; the head cell pairs with the
    last stage. Both are global-max-pooled, concatenated, reduced (1x1 conv + BN + ReLU) and
    classified. side=False: the same model without the side branch (reduction without bias)."""

    def __init__(self, backbone, num_classes, in_channels=3, last_stride=2, side=True, **cell):
        super().__init__()
        self.backbone = make_resnet(backbone, 1, in_channels, last_stride)
        del self.backbone.fc
        st = stages(self.backbone)
        cifar = backbone in ("resnet20", "resnet56")
        final = block_out(st[-1][-1])
        self.feats = min(256, final)
        if side:
            taps = [(self.backbone.bn1.num_features, stage_stride(st[0]))]
            taps += [(block_out(s[-1]), stage_stride(st[i + 1])) for i, s in enumerate(st[:-2])]
            taps.append((block_out(st[-2][0]), 1))
            self.ptl = PTLBranch(in_channels, (1, 1) if cifar else (2, 2), taps, [stage_stride(st[-1])], **cell)
            hw = branch_widths(taps)[2]
        self.side = side
        self.reduction = reduction(final + (hw if side else 0), self.feats, bias=side)
        self.fc = classifier(self.feats, num_classes)

    def forward(self, x):
        st = stages(self.backbone)
        t = [stem(self.backbone, x)]
        for s in st[:-2]:
            t.append(s(t[-1]))
        t.append(st[-2][0](t[-1]))
        y = st[-1](st[-2][1:](t[-1]))
        g = F.max_pool2d(y, y.shape[2:])
        if self.side:
            h = self.ptl.head(0, self.ptl.trunk(x, t))
            g = torch.cat([g, F.max_pool2d(h, h.shape[2:])], 1)
        f = self.reduction(g).flatten(1)
        return {"feature": f, "logits": [self.fc(f)], "triplet": [f]}


# ---------------------------------------------------------------- MGN / MGN-PTL
FC_NAMES = ["fc_id_2048_0", "fc_id_2048_1", "fc_id_2048_2", "fc_id_256_1_0", "fc_id_256_1_1",
            "fc_id_256_2_0", "fc_id_256_2_1", "fc_id_256_2_2"]
UNUSED = ("backbone.layer3.1.", "backbone.layer3.2.", "backbone.layer3.3.", "backbone.layer3.4.",
          "backbone.layer3.5.", "backbone.layer4.", "backbone.fc.")


class MGN(nn.Module):
    """The release's MGN / MGN_PTL layout: ResNet-50 to layer3[0], then p1 (layer3[1:] +
    layer4), p2 and p3 (layer3[1:] + stride-1 layer4); 8 max-pooled vectors through one shared
    reduction and 8 classifiers. `backbone` keeps the release's unused layer3[1:], layer4, fc.
    `backbone`: the ResNet-50 to start from (the release: ImageNet weights); every branch copies
    its layer3[1:] and layer4."""

    def __init__(self, num_classes, ptl=True, backbone=None, **cell):
        super().__init__()
        feats = 256
        self.backbone = backbone if backbone is not None else resnet50()
        res_conv4 = nn.Sequential(*self.backbone.layer3[1:])
        res_p_conv5 = nn.Sequential(
            Bottleneck(1024, 512, downsample=nn.Sequential(nn.Conv2d(1024, 2048, 1, bias=False), nn.BatchNorm2d(2048))),
            Bottleneck(2048, 512), Bottleneck(2048, 512))
        res_p_conv5.load_state_dict(self.backbone.layer4.state_dict())
        self.p1 = nn.Sequential(copy.deepcopy(res_conv4), copy.deepcopy(self.backbone.layer4))
        self.p2 = nn.Sequential(copy.deepcopy(res_conv4), copy.deepcopy(res_p_conv5))
        self.p3 = nn.Sequential(copy.deepcopy(res_conv4), copy.deepcopy(res_p_conv5))
        if ptl:
            taps = [(64, 1), (256, 2), (512, 2), (1024, 1)]
            self.ptl = PTLBranch(3, (2, 2), taps, [2, 1, 1], **cell)
        self.has_ptl = ptl
        self.reduction = reduction(2048 + (128 if ptl else 0), feats, bias=ptl)
        for n in FC_NAMES:
            setattr(self, n, classifier(feats, num_classes))

    def forward(self, x):
        b = self.backbone
        t = [stem(b, x)]
        t.append(b.layer1(t[-1]))
        t.append(b.layer2(t[-1]))
        t.append(b.layer3[0](t[-1]))
        p = [self.p1(t[-1]), self.p2(t[-1]), self.p3(t[-1])]
        if self.has_ptl:
            z = self.ptl.trunk(x, t)
            q = [self.ptl.head(i, z) for i in range(3)]

        def pool(m, parts):
            h, w = m.shape[2:]
            return F.max_pool2d(m, (h // parts, w))

        def stripes(i, parts):  # (global or striped) pooled vectors of branch i, with the side map's
            a = pool(p[i], parts)
            if self.has_ptl:
                a = torch.cat([a, pool(q[i], parts)], 1)
            return [a[:, :, k:k + 1, :] for k in range(parts)]

        pooled = stripes(0, 1) + stripes(1, 1) + stripes(2, 1) + stripes(1, 2) + stripes(2, 3)
        f = [self.reduction(v).flatten(1) for v in pooled]
        logits = [getattr(self, n)(v) for n, v in zip(FC_NAMES, f)]
        return {"feature": torch.cat(f, 1), "logits": logits, "triplet": f[:3]}


def unused(model, key):
    return isinstance(model, MGN) and key.startswith(UNUSED)


def used_state_dict(model):
    """The state dict without the release's unused copies: the C++ model's keys."""
    return {k: v for k, v in model.state_dict().items() if not unused(model, k)}


def used_parameters(model):
    return [(k, v) for k, v in model.named_parameters() if not unused(model, k)]


# ---------------------------------------------------------------- registry (as models/registry.cpp)
NAMES = ["resnet18", "resnet34", "resnet50", "resnet20", "resnet56", "ptl_resnet18", "ptl_resnet34",
         "ptl_resnet50", "ptl_resnet20", "ptl_resnet56", "mgn", "mgn_ptl"]


def make_model(name, num_classes, in_channels=3, side=True, **cell):
    if name == "mgn":
        return MGN(num_classes, ptl=False)
    if name == "mgn_ptl":
        return MGN(num_classes, ptl=side, **cell)
    if name.startswith("ptl_"):
        return PTLResNet(name[4:], num_classes, in_channels, side=side, **cell)
    return make_resnet(name, num_classes, in_channels)


def reset_state(model):
    for m in model.modules():
        if isinstance(m, BConvCell):
            m.reset_state()
