"""BackwardTrace.save_html: the page, loaded from file:// in a real (headless) Chromium.

The browser is Debian's chromium driven by selenium through /usr/bin/chromedriver
(never a downloaded driver); one browser serves the whole module. Without
chromium, chromedriver or selenium the browser tests are skipped, saying which.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import nn
from mnist.model import build

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_IMAGE = '<img src=x onerror="window.pwned=1">'
CHROMIUM_OPTIONS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,900",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, its console log kept."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            pytest.skip(f"{program} is missing (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_OPTIONS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def small_graph():
    """A graph with parameters named to break out of the page, if anything could."""
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    params = {
        XSS_SCRIPT: ag.tensor(rng.normal(size=(4, 2)), requires_grad=True),
        f"{XSS_IMAGE}.bias": ag.tensor(rng.normal(size=(2,)), requires_grad=True),
        "scale & <shift>": ag.tensor(rng.normal(size=()), requires_grad=True),
    }
    w, b, s = params.values()
    loss = ((x @ w + b).tanh() * s).sum() + (x * x).mean()
    return loss, params


@pytest.fixture(scope="module")
def small_page(tmp_path_factory):
    loss, params = small_graph()
    trace = ag.trace_backward(loss)
    path = tmp_path_factory.mktemp("pages") / "small.html"
    trace.save_html(path, params)
    return path, trace, params


@pytest.fixture(scope="module")
def cnn_page(tmp_path_factory):
    """The MNIST CNN's page, on a random batch of 8 (as `mnist.graph --html` makes it)."""
    rng = np.random.default_rng(0)
    model = build("cnn", rng=rng)
    x = ag.Tensor(rng.random((8, 1, 28, 28), dtype=np.float32))
    loss = nn.functional.cross_entropy(model(x), rng.integers(0, 10, 8))
    trace = ag.trace_backward(loss)
    path = tmp_path_factory.mktemp("pages") / "cnn.html"
    trace.save_html(path, dict(model.named_parameters()))
    return path, trace


def open_page(driver, path: Path) -> float:
    """Load `path` from file://, clear the console log; the seconds until `load`."""
    driver.get_log("browser")  # what earlier tests left
    driver.get(path.resolve().as_uri())
    return driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
    )


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def step_of(driver) -> int:
    return int(driver.execute_script("return document.body.dataset.step"))


def current_titles(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('g.node.current')]"
        ".map(g => g.querySelector('title').textContent)"
    )


def click(driver, button: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, button).click()


def press(driver, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(key).perform()


def page_data(path: Path) -> list[dict]:
    text = path.read_text()
    match = re.search(r'<script type="application/json" id="backprop-steps">(.*?)</script>', text)
    return json.loads(match.group(1))


def panel_block(driver, selector: str) -> dict[str, str]:
    """shape, norm, min, max (and values) shown in one gradient block of the panel."""
    return driver.execute_script(
        """
        const box = document.querySelector(arguments[0]);
        const out = {};
        for (const dd of box.querySelectorAll('dd')) out[dd.className] = dd.textContent;
        const values = box.querySelector('.values');
        if (values) out.values = values.textContent;
        return out;
        """,
        selector,
    )


def assert_shown(shown: dict[str, str], g: np.ndarray) -> None:
    """The panel's numbers are the gradient's, to the 5 digits it shows."""
    g = g.astype(np.float64)
    assert shown["shape"] == str(tuple(g.shape))
    for name, value in (("norm", np.linalg.norm(g)), ("min", g.min()), ("max", g.max())):
        assert float(shown[name]) == pytest.approx(value, rel=1e-4, abs=1e-12), name
    if g.size <= 16:
        numbers = [float(v) for v in shown["values"].strip("[]").split(", ")]
        np.testing.assert_allclose(numbers, g.ravel(), rtol=1e-4, atol=1e-12)
    else:
        assert "values" not in shown


def test_the_file_holds_everything_and_escapes_every_name(small_page):
    path, trace, params = small_page
    text = path.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    assert re.findall(r"<[a-zA-Z][^>]*\s(?:src|href)\s*=", text) == []  # nothing to fetch
    assert XSS_SCRIPT not in text and "<img" not in text
    assert text.count("<script") == 2 and text.count("</script>") == 2
    data = page_data(path)
    assert [s["op"] for s in data] == [s.op for s in trace.steps]
    for shown, step in zip(data, trace.steps):
        assert shown["output_shape"] == list(step.output_grad.shape)
        assert shown["output_grad_norm"] == pytest.approx(np.linalg.norm(step.output_grad))
        assert shown["input_grad_norms"] == [
            None if g is None else pytest.approx(np.linalg.norm(g)) for g in step.input_grads
        ]
    names = {leaf["name"] for s in data for leaf in s["completes"]}
    assert names == set(params) | {"input"}


def test_the_page_opens_before_the_first_step_without_console_errors(browser, small_page):
    path, trace, _ = small_page
    open_page(browser, path)
    assert step_of(browser) == -1
    assert current_titles(browser) == []
    assert browser.find_element("id", "prev").get_attribute("disabled")
    assert "Before the first step" in browser.find_element("id", "panel").text
    assert console_errors(browser) == []


def test_buttons_step_and_highlight_the_node_and_its_edges(browser, small_page):
    path, trace, _ = small_page
    steps = page_data(path)
    open_page(browser, path)
    click(browser, "next")
    assert step_of(browser) == 0 and current_titles(browser) == [steps[0]["node"]]
    click(browser, "next")
    assert step_of(browser) == 1 and current_titles(browser) == [steps[1]["node"]]
    flows = browser.execute_script(
        "return [...document.querySelectorAll('g.edge.flow')]"
        ".map(g => g.querySelector('title').textContent)"
    )
    expected = {f"{i['node']}->{steps[1]['node']}" for i in steps[1]["inputs"] if i["grad"]}
    assert set(flows) == expected and flows
    click(browser, "prev")
    assert step_of(browser) == 0 and current_titles(browser) == [steps[0]["node"]]
    click(browser, "prev")
    click(browser, "prev")  # disabled at the start: stays there
    assert step_of(browser) == -1 and current_titles(browser) == []
    assert console_errors(browser) == []


def test_arrow_keys_step_forward_and_back(browser, small_page):
    from selenium.webdriver.common.keys import Keys

    path, trace, _ = small_page
    open_page(browser, path)
    press(browser, Keys.ARROW_RIGHT)
    press(browser, Keys.ARROW_RIGHT)
    assert step_of(browser) == 1
    press(browser, Keys.ARROW_LEFT)
    assert step_of(browser) == 0
    for _ in range(len(trace.steps) + 2):  # past the end: stays at the last step
        press(browser, Keys.ARROW_RIGHT)
    assert step_of(browser) == len(trace.steps) - 1
    assert console_errors(browser) == []


def test_play_runs_to_the_last_step_and_stops(browser, small_page):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    path, trace, _ = small_page
    open_page(browser, path)
    Select(browser.find_element("id", "speed")).select_by_visible_text("fastest")
    click(browser, "play")
    seen = set()

    def at_the_end(driver):
        seen.add(step_of(driver))
        return step_of(driver) == len(trace.steps) - 1

    WebDriverWait(browser, 10, poll_frequency=0.01).until(at_the_end)
    time.sleep(0.1)  # a timer still running would step on (and nowhere to go)
    assert step_of(browser) == len(trace.steps) - 1
    assert browser.find_element("id", "play").text == "Play"
    assert len(seen) > 1  # it went through the steps, not straight to the end
    assert console_errors(browser) == []


def test_the_panel_shows_the_traces_numbers_at_every_step(browser, small_page):
    path, trace, params = small_page
    steps = page_data(path)
    open_page(browser, path)
    complete: list[str] = []
    for i, step in enumerate(trace.steps):
        click(browser, "next")
        assert step_of(browser) == i
        panel = browser.find_element("id", "panel")
        assert panel.find_element("css selector", "h2.op").text == step.op
        assert panel.find_element("css selector", ".formula").text == step.formula
        assert_shown(panel_block(browser, "#arriving .grad"), step.output_grad)
        blocks = panel.find_elements("css selector", "#sent .input")
        inputs = steps[i]["inputs"]
        assert len(blocks) == len(inputs)
        for k, (block, shown) in enumerate(zip(blocks, inputs)):
            g = step.input_grads[shown["position"]]
            assert block.find_element("css selector", "h4").text.endswith(shown["to"])
            if g is None:
                assert "no gradient" in block.text
            else:
                assert_shown(panel_block(browser, f"#sent .input:nth-of-type({k + 1}) .grad"), g)
        complete += [s["name"] for s in steps[i]["completes"]]
        listed = [li.text for li in panel.find_elements("css selector", "#leaves li")]
        assert listed == complete
    assert set(complete) == set(params) | {"input"}
    assert console_errors(browser) == []


def test_a_name_made_to_escape_shows_as_text_and_runs_nothing(browser, small_page):
    from selenium.common.exceptions import NoAlertPresentException

    path, trace, _ = small_page
    open_page(browser, path)
    for _ in trace.steps:
        click(browser, "next")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert  # noqa: B018 (reading it is the check)
    assert browser.execute_script("return window.pwned") is None
    assert browser.execute_script("return document.images.length") == len(
        browser.find_elements("css selector", "img.heatmap")
    )
    svg_texts = browser.execute_script(
        "return [...document.querySelectorAll('svg text')].map(t => t.textContent)"
    )
    assert XSS_SCRIPT in svg_texts and f"{XSS_IMAGE}.bias" in svg_texts
    assert XSS_IMAGE in svg_texts  # the cluster of its layer
    assert "scale & <shift>" in svg_texts
    leaves = [li.text for li in browser.find_elements("css selector", "#leaves li")]
    assert XSS_SCRIPT in leaves and f"{XSS_IMAGE}.bias" in leaves
    assert console_errors(browser) == []


def test_the_mnist_cnn_page_loads_fast_and_shows_heat_maps(browser, cnn_page):
    path, trace = cnn_page
    assert path.stat().st_size < 1_000_000
    load_s = open_page(browser, path)
    assert load_s < 5
    shown = 0
    for i, step in enumerate(trace.steps):
        click(browser, "next")
        assert current_titles(browser) and step_of(browser) == i
        assert_shown(panel_block(browser, "#arriving .grad"), step.output_grad)
        shown += browser.execute_script(
            "return [...document.querySelectorAll('img.heatmap')]"
            ".filter(img => img.complete && img.naturalWidth > 0).length"
        )
    assert shown >= len(trace.steps)  # image-shaped gradients at (nearly) every step
    assert console_errors(browser) == []


def test_a_500_node_graph_gives_a_usable_page(browser, tmp_path):
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.normal(size=(4, 4)), requires_grad=True)
    params = {
        f"layer{i}.weight": ag.tensor(rng.normal(size=(4, 4)), requires_grad=True)
        for i in range(10)
    }
    ws = list(params.values())
    h = x
    for i in range(125):  # 4 ops each, weights shared: long edges, the hard case for the layout
        h = (h @ ws[i % 10]).tanh() + h * 0.5
    trace = ag.trace_backward(h.sum())
    assert len(trace.steps) == 501
    path = tmp_path / "big.html"
    started = time.perf_counter()
    trace.save_html(path, params)
    assert time.perf_counter() - started < 30
    assert path.stat().st_size < 4_000_000
    assert open_page(browser, path) < 10
    click(browser, "play")
    click(browser, "play")  # pause
    from selenium.webdriver.common.keys import Keys

    press(browser, Keys.ARROW_RIGHT)
    assert step_of(browser) >= 0 and len(current_titles(browser)) == 1
    assert console_errors(browser) == []
