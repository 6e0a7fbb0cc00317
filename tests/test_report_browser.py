"""The batch report page in a real browser: headless Chromium driven by Playwright.

One batch of three files (two short tones and a corrupt file with a ``.wav`` name) is rendered
with tiny settings and ``report=True``; each test opens ``report.html`` from ``file://`` in a
fresh page at 1280x800 and checks what a listener relies on: the spectrograms decode, the
players load the real files, the A/B switch (button and key "x") keeps the position, the
failed file shows its error, nothing is fetched from outside the output folder and the console
stays clean, in the light and the dark theme.

Marked ``heavy`` (the default run skips them, CI runs them). The browser is Debian's
``chromium`` (``.ci/run`` installs it) or the executable named by ``NEURALFX_CHROMIUM``; the
tests skip, saying why, only where no such browser exists or it cannot start.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from neuralfx import batch
from neuralfx.presets import load_preset
from tests.conftest import TINY
from tests.test_cli import tone, write

pytestmark = pytest.mark.heavy

RATE = 22050
# Chromium as root in a closed network: no sandbox, no GPU, and none of its background
# connections (each one would be refused and logged); the profile is a new empty folder.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # play() without a click, for the "keeps playing" check
                 "--autoplay-policy=no-user-gesture-required"]
VIEWPORT = {"width": 1280, "height": 800}
FIGURES = ("duration", "loudness-in", "loudness-out", "peak-in", "peak-out", "seconds",
           "realtime", "preset", "seed", "device", "precision")
WAIT_MS = 10_000


@dataclass
class Rendered:
    """The rendered batch: ``report.html`` and, in input order, each file's job."""

    html: Path
    style: Path
    jobs: list[batch.Job]

    def ok(self) -> list[tuple[int, batch.Job]]:
        return [(i, j) for i, j in enumerate(self.jobs) if j.status == "ok"]


def seconds_of(path: Path) -> float:
    from pedalboard.io import AudioFile

    with AudioFile(str(path)) as f:
        return f.frames / f.samplerate


def file_path(url: str) -> Path:
    """The local path of a ``file://`` URL."""
    assert url.startswith("file://"), url
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path)).resolve()


# --- the batch and the browser -------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Rendered:
    root = tmp_path_factory.mktemp("batch")
    base = tmp_path_factory.getbasetemp()
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1, RATE)).astype(np.float32) * 0.2
    noise[:, ::2205] = 0.9
    style = write(root / "style.wav", noise, RATE)
    inputs = [write(root / "in" / "first.wav", tone(1.0, RATE, seed=1), RATE),
              root / "in" / "corrupt.wav",
              write(root / "in" / "second.wav", tone(0.8, RATE, 2, seed=2), RATE)]
    inputs[1].write_bytes(b"RIFF this is not a wave file" * 10)
    # module scope: the autouse fixture that isolates the user folders runs per test, later
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEURALFX_CACHE_DIR", str(base / "cache"))
        env.setenv("NEURALFX_PRESET_DIR", str(base / "user-presets"))
        result = batch.process_files(inputs, load_preset("style 0.01", **TINY), root / "out",
                                     style=style, report=True)
    assert [j.status for j in result.jobs] == ["ok", "failed", "ok"], result.jobs
    html = root / "out" / "report.html"
    assert html.is_file(), f"process_files(report=True) wrote no {html}"
    return Rendered(html, style, result.jobs)


def chromium_executable() -> str | None:
    named = os.environ.get("NEURALFX_CHROMIUM")
    if named:
        if not Path(named).is_file():
            pytest.fail(f"NEURALFX_CHROMIUM={named} is not a file")
        return named
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (a persistent context on a new empty profile)."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("no Chromium to test the report page in: install Debian's chromium "
                    "(apt-get install chromium) or set NEURALFX_CHROMIUM to its executable")
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                tmp_path_factory.mktemp("chromium-profile"), executable_path=executable,
                headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)
        except Error as e:
            pytest.skip(f"Chromium at {executable} does not start: "
                        f"{str(e).strip().splitlines()[0]}")
        yield context
        context.close()


class Problems:
    """What went wrong while a page was open: console errors, uncaught exceptions, failed
    requests and requests that leave ``file://`` (the page must work offline)."""

    def __init__(self, page):
        self.seen: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.seen.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.seen.append(f"exception: {e}"))
        page.on("requestfailed",
                lambda r: self.seen.append(f"failed: {r.url} ({r.failure})"))
        page.on("request", lambda r: r.url.startswith(("file://", "data:", "blob:"))
                or self.seen.append(f"not local: {r.url}"))


@pytest.fixture
def page(browser, rendered):
    """``report.html`` opened from ``file://``; ``page.problems.seen`` must stay empty."""
    page = browser.new_page()
    page.problems = Problems(page)
    page.goto(rendered.html.as_uri())
    yield page
    page.close()


def wait_until(page, script: str, arg, what: str):
    """Waits for ``script`` (a JS function of ``arg``) to be truthy, or fails saying what."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(script, arg=arg, timeout=WAIT_MS)
    except TimeoutError:
        element = arg[0] if isinstance(arg, list) else arg
        state = element.evaluate("el => ({src: el.currentSrc, current: el.dataset.current,"
                                 " time: el.currentTime, ready: el.readyState,"
                                 " paused: el.paused, complete: el.complete,"
                                 " error: el.error && el.error.message})")
        pytest.fail(f"{what} (after {WAIT_MS / 1000:.0f} s): {state}")


def loaded(page, audio):
    """Waits for ``audio``'s metadata (or its error) and returns its duration."""
    wait_until(page, "el => el.readyState >= 1 || el.error", audio.element_handle(),
               "the audio element never loaded its metadata")
    error = audio.evaluate("el => el.error && (el.error.code + ' ' + el.error.message)")
    assert error is None, f"{audio.get_attribute('src')}: media error {error}"
    return audio.evaluate("el => el.duration")


def section(page, index: int):
    return page.locator("section.file").nth(index)


def relative(url: str | None) -> bool:
    return bool(url) and not url.startswith(("/", "data:")) and "://" not in url


# --- the page ------------------------------------------------------------------------------------

def test_one_section_per_file_in_input_order_and_the_batch_line(page, rendered):
    sections = page.locator("section.file")
    assert sections.count() == 3
    assert [sections.nth(i).locator("h2.file-name").inner_text().strip() for i in range(3)] \
        == [j.source.name for j in rendered.jobs]
    assert [sections.nth(i).get_attribute("data-status") for i in range(3)] \
        == ["ok", "failed", "ok"]
    ids = [sections.nth(i).get_attribute("id") for i in range(3)]
    assert len(set(ids)) == 3 and all(i.startswith("file-") for i in ids)
    assert "2 processed, 0 skipped, 1 failed" in page.locator("body").inner_text()
    assert page.problems.seen == []


def test_failed_file_shows_its_error_and_no_player(page, rendered):
    failed = section(page, 1)
    job = rendered.jobs[1]
    reason = (job.error or "").replace(f"{job.source}: ", "", 1).strip()
    assert reason, job
    error = failed.locator("p.error")
    assert error.count() == 1 and error.is_visible()
    assert reason in error.inner_text()
    assert failed.locator("audio, img.spectrogram").count() == 0
    assert page.problems.seen == []


def test_good_files_have_players_figures_and_settings(page, rendered):
    for index, job in rendered.ok():
        file = section(page, index)
        assert file.locator("audio.ab-player").count() == 1
        assert file.locator("button.ab-switch").count() == 1
        assert file.locator("audio.style-player").count() == 1
        rows = file.locator("table.figures tr[data-figure]")
        names = [rows.nth(i).get_attribute("data-figure") for i in range(rows.count())]
        assert set(FIGURES) <= set(names), f"{job.source.name}: figures {names}"
        assert all(rows.nth(i).locator("td").inner_text().strip() for i in range(rows.count()))
        assert file.locator("details.settings").count() == 1
        # closed <details>: its text is in the DOM, not rendered
        assert "n_filters" in file.locator("details.settings").text_content()
    assert page.problems.seen == []


def test_every_spectrogram_decodes_lazily_from_the_assets_folder(page, rendered):
    for index, job in rendered.ok():
        images = section(page, index).locator("img.spectrogram")
        kinds = [images.nth(i).get_attribute("data-kind") for i in range(images.count())]
        assert sorted(kinds) == ["difference", "input", "output", "style"], job.source.name
    images = page.locator("img.spectrogram")
    for i in range(images.count()):
        image = images.nth(i)
        src = image.get_attribute("src")
        assert relative(src) and src.startswith("report-assets/"), src
        assert image.get_attribute("loading") == "lazy"
        assert image.get_attribute("alt")
        image.scroll_into_view_if_needed()
        wait_until(page, "el => el.complete", image.element_handle(), f"{src} never loaded")
        assert image.evaluate("el => el.naturalWidth") > 0, f"{src} does not decode"
        assert image.evaluate("el => el.naturalHeight") > 0, f"{src} does not decode"
    assert page.problems.seen == []


def test_players_load_the_real_files_with_their_durations(page, rendered):
    for index, job in rendered.ok():
        file = section(page, index)
        player = file.locator("audio.ab-player")
        assert player.get_attribute("preload") == "metadata"
        for key in ("src", "data-a", "data-b"):
            assert relative(player.get_attribute(key)), (key, player.get_attribute(key))
        assert player.get_attribute("data-current") == "a"
        urls = player.evaluate("el => [el.src, new URL(el.dataset.a, document.baseURI).href,"
                               " new URL(el.dataset.b, document.baseURI).href]")
        assert [file_path(u) for u in urls] \
            == [job.source.resolve(), job.source.resolve(), job.output.resolve()]
        assert loaded(page, player) == pytest.approx(seconds_of(job.source), abs=0.05)
        style = file.locator("audio.style-player")
        assert relative(style.get_attribute("src"))
        assert file_path(style.evaluate("el => el.src")) == rendered.style.resolve()
        assert loaded(page, style) == pytest.approx(seconds_of(rendered.style), abs=0.05)
    assert page.problems.seen == []


def switched(page, player, current: str, url: str, position: float, what: str):
    """Waits until ``player`` plays ``url`` (``data-current`` = ``current``) from ``position``."""
    wait_until(page, "([el, current, url, t]) => el.dataset.current === current"
               " && el.src === url && el.readyState >= 1 && Math.abs(el.currentTime - t) < 0.1",
               [player.element_handle(), current, url, position], what)


def test_ab_switch_changes_the_source_and_keeps_the_position(page, rendered):
    for index, job in rendered.ok():
        file = section(page, index)
        player, button = file.locator("audio.ab-player"), file.locator("button.ab-switch")
        a, b = job.source.resolve().as_uri(), job.output.resolve().as_uri()
        assert "A" in button.inner_text() and "input" in button.inner_text().lower()
        loaded(page, player)
        player.evaluate("el => { el.currentTime = 0.5 }")
        button.click()
        switched(page, player, "b", b, 0.5, f"{job.source.name}: A -> B lost the source or "
                 "the position")
        assert "B" in button.inner_text() and "output" in button.inner_text().lower()
        assert loaded(page, player) == pytest.approx(seconds_of(job.output), abs=0.05)
        player.evaluate("el => { el.currentTime = 0.3 }")
        button.click()
        switched(page, player, "a", a, 0.3, f"{job.source.name}: B -> A lost the source or "
                 "the position")
        assert "A" in button.inner_text()
    assert page.problems.seen == []


def test_ab_switch_keeps_playing(page, rendered):
    index, job = rendered.ok()[0]
    file = section(page, index)
    player, button = file.locator("audio.ab-player"), file.locator("button.ab-switch")
    loaded(page, player)
    # muted: headless Chromium may have no audio device; playing still advances the clock
    player.evaluate("el => { el.muted = true; return el.play() }")
    wait_until(page, "el => !el.paused && el.currentTime > 0", player.element_handle(),
               "the player never started")
    button.click()
    wait_until(page, "el => el.dataset.current === 'b' && el.readyState >= 1",
               player.element_handle(), "the switch never loaded the output")
    wait_until(page, "el => !el.paused", player.element_handle(),
               "the player stopped on the switch")
    assert page.problems.seen == []


def test_key_x_switches_the_first_player_then_the_focused_one(page, rendered):
    (first, job1), (second, job2) = rendered.ok()
    one = section(page, first).locator("audio.ab-player")
    two = section(page, second).locator("audio.ab-player")
    loaded(page, one)
    loaded(page, two)
    page.keyboard.press("x")
    switched(page, one, "b", job1.output.resolve().as_uri(), 0.0,
             "the key x did not switch the first player")
    assert two.get_attribute("data-current") == "a"
    section(page, second).locator("button.ab-switch").focus()
    two.evaluate("el => { el.currentTime = 0.4 }")
    page.keyboard.press("x")
    switched(page, two, "b", job2.output.resolve().as_uri(), 0.4,
             "the key x did not switch the focused file's player")
    assert one.get_attribute("data-current") == "b"
    assert page.problems.seen == []


# --- reading it ----------------------------------------------------------------------------------

# The colours a reader sees: the first opaque background from the element up (white if none),
# and the WCAG contrast ratio of the element's text colour on it.
CONTRAST = """el => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  let bg = null;
  for (let e = el; e && !bg; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0.9) bg = c;
  }
  bg = bg || [255, 255, 255];
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => v / 255).map(
      v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const fg = lum(rgb(getComputedStyle(el).color)), back = lum(bg);
  return {background: back,
          contrast: (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05)};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_page_reads_well_in_light_and_dark_and_fits_a_laptop_screen(page, rendered, scheme,
                                                                    tmp_path):
    page.emulate_media(color_scheme=scheme)
    for selector in ("body", "h2.file-name", "table.figures td", "p.error"):
        seen = page.locator(selector).first.evaluate(CONTRAST)
        assert seen["contrast"] >= 4.5, (scheme, selector, seen)
    background = page.locator("body").evaluate(CONTRAST)["background"]
    assert background < 0.2 if scheme == "dark" else background > 0.6, (scheme, background)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"], \
        "the page scrolls sideways at 1280 px"
    images = page.locator("img.spectrogram")
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        wait_until(page, "el => el.complete", images.nth(i).element_handle(), "an image")
    shot = tmp_path / f"report-{scheme}.png"
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 0
    assert page.problems.seen == []
