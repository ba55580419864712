"""Static review of a project's Python code for ML mistakes that linters do not know.

Each rule reads the syntax tree and reports a Finding with the file:line it points at and a
confidence (0-100) that the finding is a real problem; the review keeps only findings at or
above THRESHOLD. The rules, by the reviewer that owns them:

- ML practice: a forward pass in an evaluation function without `model.eval()` or
  `torch.no_grad()`; a preprocessor fitted before the data is split; unseeded randomness.
- performance: a host sync (`.item()`, `.cpu()`, `.tolist()`, `.numpy()`, `float(t)`,
  `int(t)` or `print(t)` of a tensor) in the loop that calls `.backward()`, which stalls the
  device once per step; and gathering onto one rank: `dist.gather` / `gather_object` of anything
  (one process ends up holding every rank's share), and `all_gather*` of something named like
  the data (x, data, dataset, frame, df, rows), which puts the whole data set on every rank.
  Gathering small results (predictions, scores) with all_gather is how metrics are reduced
  across ranks and is not flagged.
- time series (a forecasting project only): shuffling the rows of a series, a scaler fitted on
  every row rather than the past of a cut-off, and `shift(-k)`, which moves the future into
  the present row.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

THRESHOLD = 80
# Words of a function's name (split at `_`) that say it evaluates or predicts.
EVALUATION = frozenset(
    {"eval", "evaluate", "evaluation", "predict", "prediction", "predictions", "infer"}
    | {"inference", "valid", "validate", "validation", "score", "scores", "test"}
)
MODEL_NAMES = frozenset({"model", "module", "net", "network", "classifier", "regressor"})
HOST_SYNCS = frozenset({"item", "cpu", "tolist", "numpy"})
CASTS = frozenset({"float", "int"})  # float(t) / int(t) of a tensor copies it to the host
# What a tensor's metadata is called: reading it does not wait for the device.
METADATA = frozenset({"shape", "dtype", "device", "ndim", "size", "dim", "numel", "requires_grad"})
# Builtins whose result is never a tensor (len(x) is a number known on the host).
HOST_BUILTINS = frozenset({"len", "range", "str", "repr", "isinstance", "type", "bool", "id"})
DISTRIBUTED = "torch.distributed"
GATHERS_TO_ONE = frozenset({"gather", "gather_object"})
# all_gather's variants, and the position and keyword of what each rank contributes.
ALL_GATHERS = {
    "all_gather": (1, "tensor"),
    "all_gather_object": (1, "obj"),
    "all_gather_into_tensor": (1, "input_tensor"),
}
# Words of a name (split at `_` and `.`) that say it holds the data set, not a result.
DATA_WORDS = frozenset({"x", "data", "dataset", "frame", "df", "rows"})
GRAD_OFF = frozenset({"no_grad", "inference_mode"})
SPLITTERS = frozenset({"train_test_split", "split_rows"})
GLOBAL_NUMPY = frozenset(
    {"rand", "randn", "randint", "random", "choice", "shuffle", "permutation", "normal", "uniform"}
)
GLOBAL_RANDOM = frozenset(
    {"random", "randint", "choice", "choices", "shuffle", "sample", "uniform"}
)
TORCH_RANDOM = frozenset({"rand", "randn", "randint", "randperm", "bernoulli", "multinomial"})
# Splitters that draw rows regardless of time (TimeSeriesSplit is not among them).
RANDOM_SPLITTERS = re.compile(r"(KFold|ShuffleSplit)$")
REORDERS = frozenset({"permutation", "shuffle"})  # np.random / rng / random: rows reordered
# What a scaler's name says: StandardScaler, MinMaxScaler, Normalizer, a `scaler` variable.
SCALER = re.compile(r"scal|normali[sz]", re.IGNORECASE)
# A fitted argument named like these is the past of a cut-off, not every row.
PAST = re.compile(r"train|past|history|before|fit|window", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    rule: str
    area: str  # the reviewer: code quality | ML practice | performance
    path: str
    line: int
    message: str
    confidence: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def dotted(node: ast.AST) -> str:
    """`np.random.rand` for the expression np.random.rand; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def calls(node: ast.AST) -> Iterator[ast.Call]:
    """Calls under node, not descending into nested functions or classes."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(child, ast.Call):
            yield child
        yield from calls(child)


def method(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def keywords(call: ast.Call) -> set[str]:
    return {keyword.arg for keyword in call.keywords if keyword.arg}


def is_forward(call: ast.Call) -> bool:
    """`model(x)`, `self.net(x)`, `model.forward(x)`: a call of something named like a model."""
    name = dotted(call.func).rsplit(".", 1)[-1]
    return name in MODEL_NAMES or name == "forward"


def grad_disabled(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    decorators = [dotted(d.func if isinstance(d, ast.Call) else d) for d in function.decorator_list]
    withs = [
        dotted(item.context_expr.func)
        for node in ast.walk(function)
        if isinstance(node, ast.With | ast.AsyncWith)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
    ]
    return any(name.rsplit(".", 1)[-1] in GRAD_OFF for name in decorators + withs)


class Reviewer:
    """The rules over one module; `findings` holds what they found, at every confidence."""

    def __init__(
        self, tree: ast.Module, path: str, seeded: set[str], forecasting: bool = False
    ) -> None:
        self.tree, self.path, self.seeded = tree, path, seeded
        self.forecasting = forecasting  # a time series: its own rules apply
        self.distributed = distributed_names(tree)
        self.findings: list[Finding] = []

    def add(self, rule: str, area: str, node: ast.AST, message: str, confidence: int) -> None:
        line = getattr(node, "lineno", 1)
        self.findings.append(Finding(rule, area, self.path, line, message, confidence))

    def run(self) -> list[Finding]:
        self.fit_before_split(self.tree)  # a script's top level
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.evaluation_mode(node)
                self.fit_before_split(node)
            elif isinstance(node, ast.For | ast.While | ast.AsyncFor):
                self.host_sync_per_step(node)
            elif isinstance(node, ast.Call):
                self.unseeded(node)
                self.gathered_on_one_rank(node)
                if self.forecasting:
                    self.time_series(node)
        return self.findings

    def time_series(self, call: ast.Call) -> None:
        """The rules of a forecasting project, where row order is time."""
        for rule, problem in (
            ("shuffled-series", shuffles(call)),
            ("scaled-on-all-rows", scales_on_all_rows(call)),
            ("future-shift", shifts_from_future(call)),
        ):
            if problem:
                self.add(rule, "ML practice", call, *problem)

    def evaluation_mode(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not EVALUATION & set(function.name.lower().split("_")):
            return
        body = list(calls(function))
        forward = next((call for call in body if is_forward(call)), None)
        if forward is None:
            return
        has_eval = any(method(call) == "eval" and not call.args for call in body)
        no_grad = grad_disabled(function)
        if not has_eval and not no_grad:
            self.add(
                "eval-mode",
                "ML practice",
                forward,
                f"`{function.name}` runs the model without model.eval() or torch.no_grad():"
                " dropout and batch norm stay in training mode and autograd records every step",
                90,
            )
        elif not has_eval:  # often a helper whose caller set eval mode: below the threshold
            self.add(
                "eval-mode",
                "ML practice",
                forward,
                f"`{function.name}` runs the model under no_grad but never calls model.eval():"
                " dropout and batch norm stay in training mode",
                70,
            )
        elif not no_grad:
            self.add(
                "eval-mode",
                "ML practice",
                forward,
                f"`{function.name}` runs the model without torch.no_grad(): autograd keeps every"
                " activation for a backward pass that never comes",
                80,
            )

    def fit_before_split(self, scope: ast.AST) -> None:
        body = sorted(calls(scope), key=lambda call: (call.lineno, call.col_offset))
        split = next(
            (
                call
                for call in body
                if dotted(call.func).rsplit(".", 1)[-1] in SPLITTERS
                or re.search(r"(Fold|Split)$", dotted(call.func))
            ),
            None,
        )
        if split is None:
            return
        for call in body:
            if call.lineno >= split.lineno:
                break
            if method(call) in ("fit", "fit_transform"):
                self.add(
                    "fit-before-split",
                    "ML practice",
                    call,
                    f"`.{method(call)}()` runs before the split on line {split.lineno}:"
                    " statistics of the evaluation rows leak into training",
                    85,
                )

    def host_sync_per_step(self, loop: ast.For | ast.While | ast.AsyncFor) -> None:
        """Flag host syncs in a loop that itself (not a nested loop) calls backward(): a
        `.item()`-like method, or float()/int()/print() of a tensor the step computed."""
        own = [call for statement in loop.body for call in _outside_loops(statement)]
        if not any(method(call) == "backward" for call in own):
            return
        tensors = step_tensors(loop, own)
        for call in own:
            if method(call) in HOST_SYNCS and not call.args:
                synced = f"`.{method(call)}()`"
            elif isinstance(call.func, ast.Name) and call.func.id in CASTS | {"print"}:
                shown = [arg for arg in printed(call) if is_tensor(arg, tensors)]
                if not shown or (call.func.id in CASTS and len(call.args) != 1):
                    continue
                synced = f"`{call.func.id}({ast.unparse(shown[0])})`"
            else:
                continue
            self.add(
                "host-sync-per-step",
                "performance",
                call,
                f"{synced} in the training step waits for the device on every step; accumulate"
                " on the device and read once per epoch or log interval",
                85,
            )

    def gathered_on_one_rank(self, call: ast.Call) -> None:
        """Flag torch.distributed's gather of anything (all of it lands on one rank) and
        all_gather of the data set (all of it lands on every rank)."""
        name = self.distributed_function(call)
        if name in GATHERS_TO_ONE:
            dst = next((k.value for k in call.keywords if k.arg == "dst"), None)
            rank = ast.unparse(dst) if dst is not None else "0"
            self.add(
                "gather-to-one-rank",
                "performance",
                call,
                f"`{name}` collects every rank's share on rank {rank}: one process holds all of"
                " it and the others wait; reduce on the ranks (all_reduce) or all_gather only"
                " small results such as predictions",
                85,
            )
        elif name in ALL_GATHERS:
            index, keyword = ALL_GATHERS[name]
            given = [k.value for k in call.keywords if k.arg == keyword] + call.args[index:][:1]
            subject = data_name(given[0]) if given else ""
            if subject:
                self.add(
                    "gather-to-one-rank",
                    "performance",
                    call,
                    f"`{name}` of `{subject}` puts the whole data set on every rank; each rank"
                    " should read only its shard and gather results, not data",
                    85,
                )

    def distributed_function(self, call: ast.Call) -> str:
        """The torch.distributed function a call names (`dist.gather`, an imported `gather`),
        or '' (torch.gather and tensor.gather index a tensor: not collectives)."""
        name = dotted(call.func)
        head, _, last = name.rpartition(".")
        if head and (head in self.distributed or head == DISTRIBUTED):
            return last
        return self.distributed.get(name, "") if not head else ""

    def unseeded(self, call: ast.Call) -> None:
        problem = unseeded_draw(call, self.seeded)
        if problem:
            self.add("unseeded", "ML practice", call, *problem)


def distributed_names(tree: ast.Module) -> dict[str, str]:
    """What a module calls torch.distributed and its functions: `dist` (an alias of the
    module) maps to '', an imported `gather` (or its alias) to 'gather'."""
    names = {"dist": ""}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname: "" for a in node.names if a.name == DISTRIBUTED and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == DISTRIBUTED:
            names |= {a.asname or a.name: a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "torch":
            names |= {a.asname or a.name: "" for a in node.names if a.name == "distributed"}
    return names


def step_tensors(loop: ast.For | ast.While | ast.AsyncFor, own: list[ast.Call]) -> set[str]:
    """Names that hold tensors in a training step: the batch the loop unpacks (not an
    enumerate() count), what `.backward()` is called on, and names assigned from either or
    from a forward pass."""
    found: set[str] = set()
    if isinstance(loop, ast.For | ast.AsyncFor):
        target = loop.target
        if isinstance(loop.iter, ast.Call) and dotted(loop.iter.func) == "enumerate":
            target = target.elts[1] if isinstance(target, ast.Tuple) else ast.Tuple([])
        found |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    found |= {
        dotted(call.func.value)
        for call in own
        if method(call) == "backward" and isinstance(call.func, ast.Attribute)
    }
    assigned = [
        node
        for statement in loop.body
        for node in ast.walk(statement)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value
    ]
    for _ in range(len(assigned)):  # until no assignment adds a name
        before = len(found)
        for node in assigned:
            if is_tensor(node.value, found):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if len(found) == before:
            break
    return found


def is_tensor(node: ast.AST | None, tensors: set[str]) -> bool:
    """Whether an expression computes a tensor from the step's tensors (its metadata, len()
    and `.item()`-like results are host values)."""
    if isinstance(node, ast.Name):
        return node.id in tensors
    if isinstance(node, ast.Attribute):
        return node.attr not in METADATA and is_tensor(node.value, tensors)
    if isinstance(node, ast.Subscript | ast.Starred):
        return is_tensor(node.value, tensors)
    if isinstance(node, ast.BinOp):
        return is_tensor(node.left, tensors) or is_tensor(node.right, tensors)
    if isinstance(node, ast.UnaryOp):
        return is_tensor(node.operand, tensors)
    if not isinstance(node, ast.Call):
        return False
    if method(node) in HOST_SYNCS | METADATA or dotted(node.func) in HOST_BUILTINS | CASTS:
        return False
    if is_forward(node):
        return True
    receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
    return is_tensor(receiver, tensors) or any(is_tensor(arg, tensors) for arg in node.args)


def printed(call: ast.Call) -> list[ast.AST]:
    """The values a call is given, with an f-string's fields in place of the f-string."""
    values: list[ast.AST] = []
    for arg in call.args:
        if isinstance(arg, ast.JoinedStr):
            values += [part.value for part in arg.values if isinstance(part, ast.FormattedValue)]
        else:
            values.append(arg)
    return values


def data_name(node: ast.AST) -> str:
    """The name of what an expression is made from (`dataset.x`, `torch.cat(rows)` -> rows),
    when its words say it is the data set; '' otherwise."""
    while isinstance(node, ast.Subscript | ast.Starred | ast.Call):
        if isinstance(node, ast.Call):
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            module = receiver is None or dotted(receiver) in ("torch", "np", "numpy")
            node = (node.args[0] if node.args else ast.Constant(None)) if module else receiver
        else:
            node = node.value
    name = dotted(node)
    words = set(re.split(r"[._]", name.lower()))
    return name if words & DATA_WORDS else ""


def unseeded_draw(call: ast.Call, seeded: set[str]) -> tuple[str, int] | None:
    """What is unseeded about a call that draws random numbers, and the confidence in it.

    Draws from a global generator the project seeds somewhere get 60: below the threshold.
    """
    name = dotted(call.func)
    parts, given = name.split("."), keywords(call)
    last = parts[-1]
    if last == "default_rng" and not call.args and not given:
        return "default_rng() without a seed", 90
    if last == "train_test_split" and not given & {"random_state", "shuffle"}:
        return "train_test_split without random_state", 90
    if re.search(r"(Fold|Split)$", last) and _true(call, "shuffle") and "random_state" not in given:
        return f"{last}(shuffle=True) without random_state", 85
    if parts[:-1] in (["np", "random"], ["numpy", "random"]) and last in GLOBAL_NUMPY:
        message = f"np.random.{last} draws from the global generator; use default_rng(seed)"
        return message, 60 if "numpy" in seeded else 85
    if parts[:-1] == ["torch"] and last in TORCH_RANDOM and "generator" not in given:
        message = f"torch.{last} without a generator, and torch.manual_seed is never called"
        return message, 60 if "torch" in seeded else 80
    if parts[:-1] == ["random"] and last in GLOBAL_RANDOM:
        return f"random.{last} without random.seed anywhere", 60 if "random" in seeded else 80
    return None


def shuffles(call: ast.Call) -> tuple[str, int] | None:
    """What reorders a time series' rows in a call, and the confidence in it."""
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if _true(call, "shuffle"):
        return f"`{last}(shuffle=True)` shuffles a time series: later steps train the model", 90
    if last == "train_test_split" and not _false(call, "shuffle"):
        return (
            "train_test_split shuffles by default: the test rows are scattered through time"
            " and the model trains on steps after them; cut at a time instead (shuffle=False)",
            90,
        )
    if RANDOM_SPLITTERS.search(last) and not _false(call, "shuffle"):
        return (
            f"`{last}` splits a time series without regard to time: folds train on the future"
            " of the steps they test; use walk-forward cut-offs",
            85,
        )
    whole = [
        k.arg for k in call.keywords if k.arg in ("frac", "fraction") and _is_number(k.value, 1)
    ]
    if method(call) == "sample" and whole:
        return f"`.sample({whole[0]}=1)` shuffles the rows of a time series", 90
    if last == "randperm" or (last in REORDERS and _draws(call)):
        return f"`{name or last}` reorders the rows of a time series: their order is time", 85
    return None


def _draws(call: ast.Call) -> bool:
    """A call of a random generator: np.random.*, random.*, an `rng`, or default_rng(...)."""
    if not isinstance(call.func, ast.Attribute):
        return False
    receiver = call.func.value
    if isinstance(receiver, ast.Call):
        return dotted(receiver.func).endswith(("default_rng", "RandomState", "Random"))
    name = dotted(receiver)
    return name in ("np.random", "numpy.random", "random") or "rng" in name.lower()


def scales_on_all_rows(call: ast.Call) -> tuple[str, int] | None:
    """A scaler fitted on whole data: its mean and spread include the future of every origin."""
    if method(call) not in ("fit", "fit_transform") or not call.args:
        return None
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    scaler = dotted(receiver.func if isinstance(receiver, ast.Call) else receiver)
    if not SCALER.search(scaler.rsplit(".", 1)[-1]):
        return None
    data = call.args[0]
    if not isinstance(data, ast.Name | ast.Attribute) or PAST.search(dotted(data)):
        return None  # a slice (`x[:cut]`) or the past by its name
    return (
        f"`{scaler}.{method(call)}({dotted(data)})` fits the scaling on every row: each origin's"
        " inputs are scaled with statistics of its future; fit on the past of the cut-off",
        85,
    )


def shifts_from_future(call: ast.Call) -> tuple[str, int] | None:
    """`shift(-k)`: each row gets the value k steps later, the future of that row."""
    if method(call) != "shift":
        return None
    given = call.args[:1] + [k.value for k in call.keywords if k.arg in ("n", "periods")]
    for value in given:
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
            if isinstance(value.operand, ast.Constant) and not value.operand.value:
                continue  # shift(-0) moves nothing
            return (
                f"`.shift({ast.unparse(value)})` moves values from later steps into each row:"
                " as an input it is lookahead; a target built this way must never reach the"
                " features",
                85,
            )
    return None


def _is_number(node: ast.AST, number: float) -> bool:
    return isinstance(node, ast.Constant) and node.value == number


def _false(call: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in call.keywords
    )


def _true(call: ast.Call, name: str) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def _outside_loops(node: ast.AST) -> Iterator[ast.Call]:
    """Calls in a statement, not descending into nested loops, functions or classes, nor into
    an `if` on a modulo (`if step % log_every == 0:`), which syncs every N steps, not each."""
    if isinstance(node, ast.For | ast.While | ast.AsyncFor):
        return
    if isinstance(node, ast.If) and any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod) for n in ast.walk(node.test)
    ):
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield from _outside_loops(child)


def seeded_generators(trees: list[ast.Module]) -> set[str]:
    """Which global generators the project seeds somewhere: numpy, torch, random."""
    seeds = {"np.random.seed": "numpy", "numpy.random.seed": "numpy", "random.seed": "random"}
    seeds |= {"torch.manual_seed": "torch", "lightning.seed_everything": "torch"}
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and dotted(node.func) in seeds:
                found.add(seeds[dotted(node.func)])
    return found


def _parse(root: Path, path: str) -> ast.Module | Finding:
    try:
        return ast.parse((root / path).read_text(encoding="utf-8"), filename=path)
    except SyntaxError as exc:
        message = f"does not parse: {exc.msg}"
        return Finding("syntax", "code quality", path, exc.lineno or 1, message, 100)


def review(root: Path, paths: list[str], forecasting: bool = False) -> list[Finding]:
    """Every finding of the rules on these files (relative to root), at every confidence; a
    forecasting project's code is held to the time-series rules too."""
    parsed = {path: _parse(root, path) for path in paths}
    trees = [tree for tree in parsed.values() if isinstance(tree, ast.Module)]
    seeded = seeded_generators(trees)
    findings: list[Finding] = []
    for path, tree in parsed.items():
        findings += (
            Reviewer(tree, path, seeded, forecasting).run()
            if isinstance(tree, ast.Module)
            else [tree]
        )
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def reported(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.confidence >= THRESHOLD]
