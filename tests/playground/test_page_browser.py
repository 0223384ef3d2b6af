"""The playground's page in headless Chromium against the real server (started as
`python -m layerlab playground --no-browser` on a free port): a spiral of three classes trains
(the test loss falls, the heat map changes, dead ReLU units are counted), the URL restores the
setup, and a bad URL parameter shows its message while the page keeps working. Skips without
Playwright or Chromium, except under CI (which installs both)."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from needs import missing

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

# Pixels of the output heat map, read from its canvas (RGB, every 7th pixel).
PIXELS = """() => {
  const c = document.getElementById('heatmap');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < d.length; i += 28) out.push(d[i], d[i + 1], d[i + 2]);
  return out;
}"""


def epoch(page):
    return int(page.evaluate("() => Number(document.body.dataset.epoch ?? -1)"))


def number(page, testid):
    return float(page.get_by_test_id(testid).inner_text())


@pytest.fixture(scope="module")
def chrome():
    """A headless Chromium; skip (fail under CI) without Playwright or Chromium."""
    if importlib.util.find_spec("playwright") is None:
        missing("the playground's browser test needs Playwright: pip install playwright")
    import check_reports_browser

    if check_reports_browser.find_chromium() is None:
        missing("the playground's browser test needs Chromium: apt-get install chromium")
    with check_reports_browser.browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real server, in a folder of its own; its base URL."""
    from playground_screenshot import serve

    with serve(tmp_path_factory.mktemp("playground")) as base:
        yield base


@pytest.fixture
def page(chrome):
    tab = chrome.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    yield tab
    tab.close()
    assert errors == [], errors  # no script error on the page


def ready(page):
    """Wait for the first frame of the current setup (epoch 0 drawn)."""
    page.wait_for_function("() => document.body.dataset.epoch === '0'", timeout=15000)


def change(page, action, expect):
    """Do `action` (a function, or the test id of an element to click), then wait until the
    server's canonical setup (in the URL) shows `expect`."""
    if isinstance(action, str):
        page.get_by_test_id(action).click()
    else:
        action()
    page.wait_for_url(re.compile(rf"[?&]{re.escape(expect)}(&|$)"), timeout=10000)


def test_spiral_trains_and_the_url_restores_it(page, server):
    page.goto(server)
    ready(page)
    change(page, "dataset-spiral", "dataset=spiral")
    change(page, lambda: page.select_option("#classes", "3"), "classes=3")
    change(page, lambda: page.select_option("#activation", "relu"), "activation=relu")
    change(page, lambda: page.select_option("#optimizer", "adam"), "optimizer=adam")
    change(page, lambda: page.select_option("#lr", "0.01"), "lr=0.01")
    change(page, "feature-sinx1", "features=x1,x2,sinx1")
    change(page, "feature-sinx2", "features=x1,x2,sinx1,sinx2")
    for layer, widths in ((0, "5,2"), (0, "6,2"), (1, "6,3"), (1, "6,4")):
        change(page, f"units-plus-{layer}", f"hidden={widths}")
    ready(page)
    assert page.get_by_test_id("layer-count").inner_text() == "2"
    loss_before = number(page, "test-loss")
    pixels_before = page.evaluate(PIXELS)

    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 40", timeout=15000)
    page.click("#play")
    page.wait_for_function("() => !document.querySelector('#play.running')", timeout=5000)
    assert epoch(page) >= 40
    assert number(page, "test-loss") < loss_before
    pixels_after = page.evaluate(PIXELS)
    changed = sum(a != b for a, b in zip(pixels_before, pixels_after, strict=True))
    assert changed > len(pixels_before) // 20  # over 5% of the sampled channels moved
    # one dead-unit count per ReLU layer, in the per-layer panel
    for layer in (0, 1):
        assert re.fullmatch(r"\d+", page.get_by_test_id(f"layer-dead-{layer}").inner_text())
    assert page.get_by_test_id("confusion-2-2").is_visible()  # three classes: a 3x3 matrix

    url = page.url
    page.goto(url)
    ready(page)
    assert page.url == url
    assert "active" in page.get_by_test_id("dataset-spiral").get_attribute("class")
    values = {key: page.input_value(f"#{key}") for key in ("classes", "activation", "optimizer")}
    assert values == {"classes": "3", "activation": "relu", "optimizer": "adam"}
    assert float(page.input_value("#lr")) == 0.01
    assert [page.get_by_test_id(f"units-{i}").inner_text() for i in (0, 1)] == ["6", "4"]
    on = [n for n in ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
          if "on" in page.get_by_test_id(f"feature-{n}").get_attribute("class").split()]
    assert on == ["x1", "x2", "sinx1", "sinx2"]
    assert page.get_by_test_id("message").is_hidden()


def test_bad_url_parameter_shows_a_message_and_the_page_works(page, server):
    page.goto(f"{server}/?lr=abc&dataset=xor")
    message = page.get_by_test_id("message-text")
    message.wait_for(timeout=10000)
    assert "lr" in message.inner_text() and "abc" in message.inner_text()
    ready(page)
    assert "lr=0.03" in page.url  # the defaults, now in the URL
    assert float(page.input_value("#lr")) == 0.03
    page.click("#step")
    page.wait_for_function("() => document.body.dataset.epoch === '1'", timeout=10000)
    assert page.get_by_test_id("test-loss").inner_text() not in ("", "\u2013")
