"""nn.onnx.export: the file passes ONNX's checker and ONNX Runtime computes what the
engine computes, at batch sizes other than the example's (nn/onnx.py)."""

import inspect

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5  # float32: ONNX Runtime's outputs equal the engine's within this
EXAMPLE_BATCH, OTHER_BATCHES = 3, (1, 5, 8)


def export(model, example, tmp_path, **options):
    """Export `model` on `example`, check the file fully, and open it in ONNX Runtime."""
    path = tmp_path / "model.onnx"
    nn.onnx.export(model, example, path, **options)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def engine(model, x):
    """The model's output in eval mode, its mode put back."""
    training = model.training
    model.eval()
    with ag.no_grad():
        out = model(ag.Tensor(x)).data
    model.train(training)
    return out


def assert_runs_like_the_engine(model, shape, tmp_path, seed=0, **options):
    """Export on a batch of EXAMPLE_BATCH, then compare ONNX Runtime with the engine
    on batches of other sizes."""
    rng = np.random.default_rng(seed)
    example = rng.uniform(-1, 1, (EXAMPLE_BATCH, *shape)).astype(np.float32)
    _, session = export(model, example, tmp_path, **options)
    for n in OTHER_BATCHES:
        x = rng.uniform(-1, 1, (n, *shape)).astype(np.float32)
        (got,) = session.run(None, {"input": x})
        expected = engine(model, x)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


class Forward(nn.Module):
    """A model whose forward is a function of its input and its own parameters
    w (6,) and m (6, 3), written with tensor operations instead of layers."""

    def __init__(self, function):
        super().__init__()
        rng = np.random.default_rng(1)
        self.w = nn.Parameter(rng.uniform(-1, 1, 6).astype(np.float32))
        self.m = nn.Parameter(rng.uniform(-1, 1, (6, 3)).astype(np.float32))
        self.function = function

    def forward(self, x):
        return self.function(x, self)


MASK = np.array([True, False, True, True, False, False])
# each a forward on x of shape (N, 4, 6)
TENSOR_OPS = {
    "add": lambda x, p: x + p.w,
    "add-scalar": lambda x, p: 1.5 + x,
    "sub": lambda x, p: x - p.w,
    "sub-from-scalar": lambda x, p: 2 - x,
    "mul": lambda x, p: x * p.w * 3,
    "div": lambda x, p: x / (p.w.abs() + 1),
    "div-scalar-by": lambda x, p: 1 / (x.abs() + 1),
    "neg": lambda x, p: -x,
    "pow-constant": lambda x, p: (x.abs() + 0.1) ** 1.5 + x**2,
    "matmul": lambda x, p: x @ p.m,
    "exp": lambda x, p: x.exp(),
    "log": lambda x, p: (x.abs() + 0.1).log(),
    "sqrt": lambda x, p: x.abs().sqrt(),
    "tanh": lambda x, p: x.tanh(),
    "sigmoid": lambda x, p: (4 * x).sigmoid(),
    "relu": lambda x, p: x.relu(),
    "abs": lambda x, p: x.abs(),
    "clip": lambda x, p: x.clip(-0.2, 0.3),
    "clip-one-side": lambda x, p: ag.clip(x, max=0.1),
    "clip-array-bounds": lambda x, p: ag.clip(x, np.linspace(-1, 0, 6), np.linspace(0, 1, 6)),
    "reshape-batch-first": lambda x, p: x.reshape(x.shape[0], 24),
    "reshape-inferred": lambda x, p: x.reshape(-1, 3, 8),
    "reshape-batch-folded": lambda x, p: x.reshape(x.shape[0] * 4, 6),
    "flatten-all": lambda x, p: x.reshape(-1),
    "reshape-batch-last": lambda x, p: x.reshape(x.shape[0], 24).T.reshape(4, 6, x.shape[0]),
    "broadcast-to-batch": lambda x, p: ag.broadcast_to(p.w, (x.shape[0], 4, 6)) * x,
    "broadcast-to-from-batch": lambda x, p: ag.broadcast_to(x[:, :1], (x.shape[0], 4, 6)),
    "transpose": lambda x, p: x.transpose(0, 2, 1),
    "transpose-reversed": lambda x, p: x.T,
    "getitem-slices": lambda x, p: x[:, 1:3, ::2],
    "getitem-negative-step": lambda x, p: x[:, ::-1, -2:0:-2],
    "getitem-int": lambda x, p: x[:, -1],
    "getitem-ellipsis-none": lambda x, p: x[..., None, 2:],
    "getitem-int-and-slice": lambda x, p: x[:, 0, 1::2],
    "concatenate": lambda x, p: ag.concatenate([x, x * 2], axis=1),
    "concatenate-last": lambda x, p: ag.concatenate([x, -x], axis=-1),
    "stack": lambda x, p: ag.stack([x, -x, x * x], axis=1),
    "stack-last": lambda x, p: ag.stack([x, x + 1], axis=-1),
    "sum-axis": lambda x, p: x.sum(axis=1),
    "sum-axes-keepdims": lambda x, p: x.sum(axis=(1, 2), keepdims=True),
    "sum-all": lambda x, p: x.sum(),
    "sum-no-axes": lambda x, p: x.sum(axis=()) + x.max(axis=(), keepdims=True),
    "mean-axis": lambda x, p: x.mean(axis=-1),
    "mean-keepdims": lambda x, p: x - x.mean(axis=1, keepdims=True),
    "max-axis": lambda x, p: x.max(axis=2),
    "max-keepdims": lambda x, p: x.max(axis=(1, 2), keepdims=True),
    "min-axis": lambda x, p: x.min(axis=1),
    "logsumexp": lambda x, p: x.logsumexp(axis=-1),
    "logsumexp-all": lambda x, p: x.logsumexp(),
    "logsumexp-keepdims-axes": lambda x, p: (10 * x).logsumexp(axis=(1, 2), keepdims=True),
    "softmax": lambda x, p: F.softmax(x * 5),
    "softmax-axis-1": lambda x, p: ag.softmax(x, axis=1),
    "softmax-two-axes": lambda x, p: ag.softmax(x, axis=(1, 2)),
    "log-softmax": lambda x, p: F.log_softmax(x * 5),
    "log-softmax-two-axes": lambda x, p: ag.log_softmax(x, axis=(1, 2)),
    "where": lambda x, p: ag.where(MASK, x, 0.1 * x),
    "maximum": lambda x, p: ag.maximum(x, p.w),
    "minimum": lambda x, p: ag.minimum(x, 0.25),
    "astype": lambda x, p: x.astype(np.float64) * 2,
    "astype-and-back": lambda x, p: (x.astype(np.float64) + 1).astype(np.float32),
    "linear-functional-3d": lambda x, p: F.linear(x, p.m.T, p.m[0] * 0 + 1),
    "linear-functional-no-bias": lambda x, p: F.linear(x[:, 0], p.m.T),
}


OPSETS = pytest.mark.parametrize(
    "opset", [None, nn.onnx.MIN_OPSET], ids=["newest-opset", "oldest-opset"]
)


@OPSETS
@pytest.mark.parametrize("function", TENSOR_OPS.values(), ids=TENSOR_OPS.keys())
def test_a_forward_of_tensor_operations_runs_as_in_the_engine(function, opset, tmp_path):
    assert_runs_like_the_engine(Forward(function), (4, 6), tmp_path, opset=opset)


LAYERS = {
    "linear-relu-linear": (nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)), (12,)),
    "linear-no-bias-log-softmax": (
        nn.Sequential(nn.Linear(12, 5, bias=False), nn.LogSoftmax()),
        (12,),
    ),
    "conv-stride-padding-non-square": (
        nn.Sequential(nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 2)), nn.Flatten()),
        (2, 9, 7),
    ),
    "conv-no-bias": (nn.Conv2d(3, 2, 3, padding=1, bias=False), (3, 6, 6)),
    "max-pool-padded": (nn.MaxPool2d(3, stride=2, padding=1), (2, 7, 8)),
    "max-pool-non-square": (nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 1)), (2, 5, 7)),
    "avg-pool-padded": (nn.AvgPool2d(3, stride=2, padding=1), (2, 7, 8)),
    "avg-pool-non-square": (nn.AvgPool2d((2, 3), stride=(1, 2), padding=(1, 1)), (2, 5, 7)),
    "avg-pool-default-stride": (nn.AvgPool2d(2), (1, 6, 6)),
    "flatten-middle": (nn.Flatten(1, 2), (2, 3, 4)),
    "dropout-is-identity": (nn.Sequential(nn.Dropout(0.5), nn.Linear(6, 2), nn.Dropout()), (6,)),
    "softmax-functional": (Forward(lambda x, p: F.relu(x) + F.softmax(x, axis=1)), (4, 6)),
    "pools-functional": (
        Forward(lambda x, p: F.max_pool2d(x, 2, 1, 1) + F.avg_pool2d(x, 2, 1, 1)),
        (2, 5, 5),
    ),
    "conv-functional-one-image": (
        Forward(lambda x, p: F.conv2d(x[0], p.m[None, None, :2, :2], stride=2)),
        (1, 6, 6),
    ),
}


@OPSETS
@pytest.mark.parametrize("model, shape", LAYERS.values(), ids=LAYERS.keys())
def test_layers_and_functionals_run_as_in_the_engine(model, shape, opset, tmp_path):
    model.train()  # exported in eval mode all the same: the dropout is not there
    assert_runs_like_the_engine(model, shape, tmp_path, opset=opset)


def test_a_padded_average_pool_counts_the_padding_as_the_engine_does(tmp_path):
    x = np.ones((1, 1, 3, 3), dtype=np.float32)
    _, session = export(nn.AvgPool2d(3, stride=1, padding=1), x, tmp_path)

    (corner,) = session.run(None, {"input": x})

    assert corner[0, 0, 0, 0] == pytest.approx(4 / 9)  # 4 ones and 5 zeros of padding
    np.testing.assert_allclose(corner, engine(nn.AvgPool2d(3, 1, 1), x), atol=TOLERANCE)


def test_the_file_has_the_parameters_as_initializers_one_input_and_one_output(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))

    proto, _ = export(model, np.zeros((2, 4), np.float32), tmp_path)

    graph = proto.graph
    assert {i.name for i in graph.initializer} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    weight = next(i for i in graph.initializer if i.name == "0.weight")
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(weight), model[0].weight.data)
    assert [i.name for i in graph.input] == ["input"]
    assert [o.name for o in graph.output] == ["output"]
    for value in (graph.input[0], graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"


def test_dynamic_batch_false_fixes_the_batch_to_the_examples(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Flatten())
    x = np.random.default_rng(0).random((3, 4), dtype=np.float32)

    proto, session = export(model, x, tmp_path, dynamic_batch=False)

    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    (got,) = session.run(None, {"input": x})
    np.testing.assert_allclose(got, engine(model, x), atol=TOLERANCE)
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        session.run(None, {"input": x[:2]})


def test_the_opset_is_the_newest_by_default_and_a_requested_one_is_written(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax())
    x = np.zeros((2, 4), np.float32)
    newest = min(nn.onnx.DEFAULT_OPSET, onnx.defs.onnx_opset_version())

    proto, _ = export(model, x, tmp_path)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", newest)]

    proto, session = export(model, x, tmp_path, opset=nn.onnx.MIN_OPSET)
    assert proto.opset_import[0].version == nn.onnx.MIN_OPSET
    (got,) = session.run(None, {"input": x})
    np.testing.assert_allclose(got, engine(model, x), atol=TOLERANCE)


@pytest.mark.parametrize("opset, error", [(17, ValueError), (10**6, ValueError), ("20", TypeError)])
def test_an_opset_the_exporter_cannot_write_is_refused(opset, error, tmp_path):
    with pytest.raises(error, match="opset"):
        nn.onnx.export(nn.ReLU(), np.zeros((1, 2)), tmp_path / "m.onnx", opset=opset)
    assert list(tmp_path.iterdir()) == []


class Cube(ag.Function):
    """A user's op, which the exporter has no form for."""

    @staticmethod
    def forward(ctx, x):
        return x**3

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError


class UsesCube(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def forward(self, x):
        return Cube.apply(self.linear(x))  # the line the error names


def test_an_op_with_no_onnx_form_names_its_class_and_line_and_leaves_no_file(tmp_path):
    line = next(
        i for i, text in enumerate(inspect.getsourcelines(UsesCube)[0]) if "Cube.apply" in text
    )
    lineno = inspect.getsourcelines(UsesCube)[1] + line

    with pytest.raises(nn.onnx.ExportError) as error:
        nn.onnx.export(UsesCube(), np.zeros((2, 3), np.float32), tmp_path / "cube.onnx")

    message = str(error.value)
    assert "Cube" in message and "no ONNX form" in message
    assert f"{__file__}:{lineno}" in message and "Cube.apply(self.linear(x))" in message
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one


def test_a_failed_export_leaves_an_existing_file_as_it_was(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the last good export")

    with pytest.raises(nn.onnx.ExportError):
        nn.onnx.export(UsesCube(), np.zeros((2, 3), np.float32), path)

    assert path.read_bytes() == b"the last good export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


@pytest.mark.parametrize("example", [np.ones, np.zeros], ids=["ones", "zeros"])
def test_a_constant_computed_from_the_input_outside_the_graph_is_refused(example, tmp_path):
    leaky = Forward(lambda x, p: ag.where(x > 0, x, 0.1 * x))  # x > 0 is not recorded

    with pytest.raises(nn.onnx.ExportError, match="Where.*computed from the input"):
        nn.onnx.export(leaky, example((2, 4, 6), np.float32), tmp_path / "leaky.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_number_taken_from_the_batch_size_is_refused_and_a_mean_over_it_exports(tmp_path):
    by_hand = Forward(lambda x, p: x.sum(axis=0) / x.shape[0])
    with pytest.raises(nn.onnx.ExportError, match="Div.*computed from the input"):
        nn.onnx.export(by_hand, np.ones((2, 4, 6), np.float32), tmp_path / "mean.onnx")

    assert_runs_like_the_engine(Forward(lambda x, p: x.mean(axis=0)), (4, 6), tmp_path)


def test_an_integer_example_is_refused_saying_to_give_the_floating_input(tmp_path):
    with pytest.raises(nn.onnx.ExportError, match="uint8.*astype"):
        nn.onnx.export(nn.Linear(4, 2), np.zeros((2, 4), np.uint8), tmp_path / "m.onnx")


def test_a_forward_that_takes_another_path_on_another_input_is_refused(tmp_path):
    branchy = Forward(lambda x, p: x.relu() if x.data.sum() > 0 else x.tanh())
    x = np.array([[-1.0, 0.0], [0.0, 2.0]], np.float32)  # sum 1; the probe's (a row more): 0

    with pytest.raises(nn.onnx.ExportError, match="another path"):
        nn.onnx.export(branchy, x, tmp_path / "branchy.onnx")


def test_an_advanced_index_is_refused_naming_getitem(tmp_path):
    picks = Forward(lambda x, p: x[:, [0, 2]])

    with pytest.raises(nn.onnx.ExportError, match="GetItem.*integer array or a mask"):
        nn.onnx.export(picks, np.ones((2, 4, 6), np.float32), tmp_path / "picks.onnx")


def test_operations_the_output_does_not_depend_on_are_left_out(tmp_path):
    def forward(x, p):
        Cube.apply(x)  # no ONNX form, but not needed for the output
        return x.relu()

    proto, _ = export(Forward(forward), np.ones((2, 4, 6), np.float32), tmp_path)

    assert [node.op_type for node in proto.graph.node] == ["Relu"]


@pytest.mark.parametrize("fails", [False, True])
def test_the_train_and_eval_modes_are_restored(fails, tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(), UsesCube() if fails else nn.ReLU())
    model.train()
    model[1].eval()  # one submodule in eval mode of its own
    modes = [m.training for _, m in model.named_modules()]

    try:
        nn.onnx.export(model, np.zeros((2, 3), np.float32), tmp_path / "m.onnx")
    except nn.onnx.ExportError:
        assert fails

    assert [m.training for _, m in model.named_modules()] == modes


def test_an_identity_model_exports_its_input_as_its_output(tmp_path):
    _, session = export(nn.Dropout(), np.ones((2, 3), np.float32), tmp_path)
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(session.run(None, {"input": x})[0], x)


def test_a_tensor_example_and_a_float64_model_export_in_their_dtype(tmp_path):
    model = nn.Linear(3, 2, dtype=np.float64)
    x = ag.Tensor(np.random.default_rng(0).random((2, 3)))

    proto, session = export(model, x, tmp_path)

    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    y = np.random.default_rng(1).random((5, 3))
    np.testing.assert_allclose(session.run(None, {"input": y})[0], engine(model, y), atol=1e-12)
