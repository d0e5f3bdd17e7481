"""The web page (ui/, `make ui`) in a real browser: Playwright driving Debian's chromium against
the tests' TorchServe. Every panel is used as a person would use it, and the assertions are on
what the page shows. SAVE_SCREENSHOTS=1 writes each panel to docs/screenshots/ for the README."""

import base64
import io
import os
import shutil
import threading

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from scripts.gateway import gateway, page_address
from scripts.server import free_port
from tests.helpers import ROOT
from tsclient import Client

FIXTURES = ROOT / "tests" / "fixtures" / "cifar10"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def page(server):
    page_port = free_port()
    httpd = gateway(server, page_port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(page_address(page_port, server.keys()["inference"]))
            yield page
            browser.close()
    finally:
        httpd.shutdown()


def screenshot(page, panel):
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#{panel}").screenshot(path=str(SCREENSHOTS / f"{panel}.png"))


def shown_image(locator) -> Image.Image:
    source = locator.get_attribute("src")
    assert source.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))


def test_the_page_has_the_key_from_the_fragment_only(page, server):
    expect(page.locator("#connection")).to_have_text("Key in hand: every model below is live.")
    assert server.keys()["inference"] not in page.content()  # not written into the page
    for path in ("/", "/app.js", "/index.html"):  # nor into any file served
        assert server.keys()["inference"] not in page.request.get(page.url.split("#")[0].rstrip("/") + path).text()
    assert page.request.post(page.url.split("#")[0] + "models").status == 404  # only /predictions/ goes through


def test_bigram_generates_from_its_options(page, server):
    panel = page.locator("#bigram")
    panel.locator("input[name=start_word]").fill("sea")
    panel.locator("input[name=length]").fill("12")
    panel.locator("input[name=seed]").fill("3")
    panel.get_by_role("button", name="Generate").click()
    output = panel.locator("[data-role=text]")
    expect(output).not_to_be_empty()
    client = Client(url=server.inference_url, key_file=server.workdir / "key_file.json")
    assert output.inner_text() == client.bigram("sea", length=12, seed=3)  # what the API gives for the options
    screenshot(page, "bigram")
    panel.locator("input[name=start_word]").fill("x" * 101)  # the server's limit, not the form's
    panel.get_by_role("button", name="Generate").click()
    expect(panel.get_by_role("alert")).to_contain_text("start_word")


def test_the_word_explorer_shows_the_norm_and_clickable_neighbours(page):
    panel = page.locator("#words")
    panel.locator("input[name=word]").fill("king")
    panel.get_by_role("button", name="Explore").click()
    expect(panel.locator("[data-role=norm]")).to_contain_text("300-d vector, norm")
    neighbours = panel.locator("[data-role=neighbours] button")
    expect(neighbours).to_have_count(10)
    expect(neighbours.first).to_have_text("kings")
    screenshot(page, "words")
    neighbours.nth(2).click()  # "prince"
    expect(panel.locator("input[name=word]")).to_have_value("prince")
    expect(panel.locator("[data-role=norm]")).to_contain_text("“prince”")
    expect(neighbours.first).not_to_have_text("kings")


def test_the_classifier_takes_a_file_a_drop_and_a_version_switch(page):
    panel = page.locator("#cifar10")
    panel.locator("input[name=image]").set_input_files(str(FIXTURES / "ship.jpg"))
    bars = panel.locator("[data-role=bars] > div")
    expect(bars).to_have_count(5)
    expect(bars.first.locator(".label")).to_have_text("ship")
    screenshot(page, "cifar10")
    horse = base64.b64encode((FIXTURES / "horse.jpg").read_bytes()).decode()
    dropped = page.evaluate_handle("""(data) => {
        const transfer = new DataTransfer();
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], "horse.jpg", { type: "image/jpeg" }));
        return transfer;
    }""", horse)
    panel.locator("[data-role=drop]").dispatch_event("drop", {"dataTransfer": dropped})
    expect(bars.first.locator(".label")).to_have_text("horse")
    first_percent = bars.first.locator(".prob").inner_text()
    panel.locator("select[name=version]").select_option("1.0")
    expect(bars.first.locator(".prob")).not_to_have_text(first_percent)  # the baseline's answer


def test_the_gan_draws_the_digit_picked(page):
    panel = page.locator("#gan")
    panel.locator("select[name=digit]").select_option("7")
    panel.locator("input[name=seed]").fill("1")
    panel.get_by_role("button", name="Generate").click()
    result = panel.locator("[data-role=result]")
    expect(result).to_be_visible()
    assert shown_image(result).size == (4 * 30 + 2,) * 2
    screenshot(page, "gan")


@pytest.mark.parametrize("sampler, version, steps", [("diffusion", None, 24), ("ebm", "1.0", 40), ("ebm", "", 12)])
def test_a_sampler_shows_progress_previews_and_the_grid(page, sampler, version, steps):
    panel = page.locator(f"#{sampler}")
    if version is not None:
        panel.locator("select[name=version]").select_option(version)
    panel.locator("input[name=num_samples]").fill("4")
    panel.locator(f"input[name={'diffusion_steps' if sampler == 'diffusion' else 'steps'}]").fill(str(steps))
    panel.locator("input[name=seed]").fill("5")
    panel.get_by_role("button", name="Sample").click()
    progress = panel.locator("progress")
    page.wait_for_function("(p) => p.value > 0 && p.value < p.max", arg=progress.element_handle())  # moving
    expect(panel.locator("[data-role=previews] img")).to_have_count(8)
    result = panel.locator("[data-role=result]")
    expect(result).to_be_visible()
    assert shown_image(result).size == (70, 70)
    assert progress.evaluate("(p) => p.value === p.max && p.max > 0")
    expect(panel.locator("[data-role=download]")).to_have_attribute("href", result.get_attribute("src"))
    expect(panel.locator("[data-role=status]")).to_contain_text("seed 5")
    screenshot(page, sampler)


def test_torchserve_refuses_a_cors_preflight_so_the_page_calls_its_own_origin(server):
    """Why scripts/gateway.py passes /predictions/ on: a browser's preflight carries no key, and
    TorchServe 0.12 checks the key on every request, preflights included."""
    preflight = requests.options(f"{server.inference_url}/predictions/bigram", timeout=30, headers={
        "Origin": "http://127.0.0.1:8090", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 400 and "Token" in preflight.json()["message"]
