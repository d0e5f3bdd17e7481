"""The web page (ui/, `make ui`) in a real browser: Playwright driving Debian's chromium against
the tests' TorchServe. The page builds a form per served model from what the server describes;
every model is used as a person would use it, and the assertions are on what the page shows.
SAVE_SCREENSHOTS=1 writes each model's section to docs/screenshots/ for the README."""

import base64
import contextlib
import io
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from models.catalog import ROOT
from scripts.gateway import gateway, page_address
from scripts.server import Server, free_port
from tests.integration.conftest import cap_in_force
from tsclient import Client
from tsclient.schema import PICTURE_KEYWORDS as PICTURE_FIELDS
from tsclient.schema import STREAM_FIELD, ModelSchema, number

FIXTURES = ROOT / "tests" / "fixtures" / "cifar10"
SCREENSHOTS = ROOT / "docs" / "screenshots"
expect.set_options(timeout=60_000)  # a sampler on a busy 2-core machine, not 5 s


@contextlib.contextmanager
def page_on(server: Server) -> Iterator[Page]:
    """The page as `make ui` serves it for `server`, opened in headless chromium (1280 px wide)."""
    page_port = free_port()
    httpd = gateway(server, page_port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(page_address(page_port, server.keys()["inference"]))
            yield page
            browser.close()
    finally:
        httpd.shutdown()


def form_shows_the_schema(page: Page, schema: ModelSchema) -> None:
    """Asserts that the model's section, at the schema's version, has an input per field that carries
    the field's range, choices and default (and an image upload where the body is an image)."""
    section = page.locator(f"#{schema.model}")
    section.locator("select[name=version]").select_option(schema.version)
    expect(section.locator("form")).to_have_attribute("data-version", schema.version)
    expect(section.locator("input[type=file][name=image]")).to_be_visible(visible=schema.takes_image)
    expect(section.locator("[data-role=progress]")).to_be_visible(visible=schema.streams)
    edits = not schema.takes_image and "image" in schema.fields  # a picture chooser and a mask painter instead
    expect(section.locator("[data-role=edit-picture]")).to_be_visible(visible=edits)
    shown = section.locator(".fields [name]")
    expect(shown).to_have_count(len(schema.fields) - schema.streams - 2 * edits)
    for name, field in schema.fields.items():
        if name == STREAM_FIELD or edits and name in PICTURE_FIELDS:  # the page streams wherever it can
            continue
        element = section.locator(f".fields [name={name}]")
        if field.choices is not None:
            assert element.locator("option").all_inner_texts()[-len(field.choices):] == list(map(str, field.choices))
            if field.default is not None:
                expect(element).to_have_value(str(field.default))
            continue
        if field.type in ("integer", "number"):
            assert element.get_attribute("type") == "number"
            if field.bounds is not None:
                assert (float(element.get_attribute("min")), float(element.get_attribute("max"))) == field.bounds
            if field.default is not None:
                assert float(element.get_attribute("placeholder")) == field.default
        assert (element.get_attribute("required") is not None) == field.required
        assert field.allowed() in element.get_attribute("title")
        hint = section.locator(f".fields label:has([name={name}]) small").inner_text()  # shown, not hovered
        assert field.allowed() in hint and (field.default is None or f"default {number(field.default)}" in hint)


@pytest.fixture(scope="module")
def page(server):
    with page_on(server) as page:
        yield page


@pytest.fixture(scope="module")
def tsclient(server):
    return Client(url=server.inference_url, key_file=server.workdir / "key_file.json",
                  management_url=server.management_url)


def screenshot(page, panel, name=None):
    if os.environ.get("SAVE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#{panel}").screenshot(path=str(SCREENSHOTS / f"{name or panel}.png"),
                                             style="header.top { position: static; }")  # not over the section


def shown_image(locator) -> Image.Image:
    source = locator.get_attribute("src")
    assert source.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))


def test_the_page_has_the_key_from_the_fragment_only(page, server):
    expect(page.locator("#connection")).to_have_text("Key in hand: every model below is live.")
    key = server.keys()["inference"]
    assert key not in page.content()  # not written into the page
    assert key not in page.evaluate("location.href")  # taken out of the address bar once read
    stored = page.evaluate("JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie])")
    assert stored == '[{},{},""]'  # nor kept by the browser
    origin = page.url.split("#")[0].rstrip("/")
    for path in ("/", "/app.js", "/index.html"):  # nor into any file served
        assert server.keys()["inference"] not in page.request.get(origin + path).text()
    assert page.request.get(origin + "/models").status == 401  # the schema too needs the key
    assert page.request.post(origin + "/models").status == 400  # a registration names a recorded archive


def test_every_served_model_version_has_a_form_from_its_schema(page, tsclient):
    models = tsclient.models()
    expect(page.locator("main > section")).to_have_count(len(models))
    expect(page.locator("#models a")).to_have_text(models)
    for model in models:
        versions = tsclient.versions(model)
        options = page.locator(f"#{model} select[name=version] option")
        expect(options).to_have_count(len(versions))
        default = tsclient.default_version(model)
        expect(page.locator(f"#{model} select[name=version]")).to_have_value(default)
        for version in [*(v for v in versions if v != default), default]:  # back to the default last
            form_shows_the_schema(page, tsclient.describe(model, version))


def test_bigram_generates_from_its_options(page, tsclient):
    panel = page.locator("#bigram")
    panel.locator("input[name=start_word]").fill("sea")
    panel.locator("input[name=length]").fill("12")
    panel.locator("input[name=seed]").fill("3")
    panel.get_by_role("button", name="Run").click()
    output = panel.locator("[data-role=text]")
    expect(output).not_to_be_empty()
    assert output.inner_text() == tsclient.bigram("sea", length=12, seed=3)  # what the API gives for the options
    screenshot(page, "bigram")
    panel.locator("input[name=length]").fill("501")  # the described range, checked before sending
    panel.get_by_role("button", name="Run").click()
    expect(panel.get_by_role("alert")).to_have_text("length: 501 is not an integer in 1..500")
    expect(output).to_have_count(0)  # alone: the earlier text is gone
    panel.locator("input[name=length]").fill("12")
    panel.locator("input[name=start_word]").fill("   ")  # the server's rule, not the form's
    panel.get_by_role("button", name="Run").click()
    expect(panel.get_by_role("alert")).to_contain_text("start_word")


def test_the_word_models_show_the_vector_and_clickable_neighbours(page):
    embed = page.locator("#embed")
    embed.locator("input[name=word]").fill("king")
    embed.get_by_role("button", name="Run").click()
    expect(embed.locator("[data-role=norm]")).to_contain_text("“king”: 300-d vector, norm")
    expect(embed.locator("canvas.vector")).to_have_attribute("width", "300")
    screenshot(page, "embed")
    similar = page.locator("#similar")
    similar.locator("input[name=word]").fill("king")
    similar.get_by_role("button", name="Run").click()
    neighbours = similar.locator("[data-role=neighbours] button")
    expect(neighbours).to_have_count(10)  # the described default
    expect(neighbours.first).to_have_text("kings")
    screenshot(page, "similar")
    neighbours.nth(2).click()  # "prince"
    expect(similar.locator("input[name=word]")).to_have_value("prince")
    expect(neighbours.first).not_to_have_text("kings")


def test_the_classifier_takes_a_file_a_drop_and_a_version_switch(page):
    panel = page.locator("#cifar10")
    panel.locator("input[name=top_k]").fill("5")
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
    expect(bars).to_have_count(5)  # what was typed stays across the switch


def test_the_gan_draws_the_digit_picked(page):
    panel = page.locator("#gan")
    panel.locator("input[name=digit]").fill("7")
    panel.locator("input[name=seed]").fill("1")
    panel.get_by_role("button", name="Run").click()
    result = panel.locator("[data-role=result]")
    expect(result).to_be_visible()
    assert shown_image(result).size == (4 * 30 + 2,) * 2  # the described default: 16 samples
    screenshot(page, "gan")


@pytest.mark.parametrize("sampler, version, steps", [("diffusion", None, 24), ("ebm", "1.0", 600), ("ebm", "2.0", 12)])
def test_a_sampler_shows_progress_previews_and_the_grid(page, sampler, version, steps):
    panel = page.locator(f"#{sampler}")
    if version is not None:
        panel.locator("select[name=version]").select_option(version)
        expect(panel.locator("form")).to_have_attribute("data-version", version)
    panel.locator("input[name=num_samples]").fill("4")
    panel.locator(f"input[name={'diffusion_steps' if sampler == 'diffusion' else 'steps'}]").fill(str(steps))
    panel.locator("input[name=seed]").fill("5")
    panel.get_by_role("button", name="Run").click()
    progress = panel.locator("progress")
    expect(panel.locator("[data-role=previews] img")).to_have_count(8)
    result = panel.locator("[data-role=result]")
    expect(result).to_be_visible()
    assert shown_image(result).size == (70, 70)
    assert progress.evaluate("(p) => p.value === p.max && p.max > 0")
    captions = panel.locator("[data-role=previews] figcaption").all_inner_texts()
    assert captions == [f"step {-(-steps * (i + 1) // 8)}" for i in range(8)]  # each preview says its step
    expect(panel.locator("[data-role=status]")).to_contain_text("seed 5")
    downloaded = Image.open(io.BytesIO(base64.b64decode(
        panel.locator("[data-role=download]").get_attribute("href").split(",", 1)[1])))
    assert downloaded.tobytes() == shown_image(result).tobytes()  # the grid shown, with its parameters inside
    assert json.loads(downloaded.text["parameters"])["seed"] == 5
    screenshot(page, sampler)


def test_a_sampler_edits_a_picture_with_a_mask_painted_on_it(page, tsclient):
    panel = page.locator("#diffusion")
    panel.locator("input[name=num_samples]").fill("2")
    panel.locator("input[name=diffusion_steps]").fill("4")
    panel.locator("input[name=seed]").fill("7")
    panel.locator("[data-role=edit-picture]").set_input_files(str(FIXTURES / "ship.jpg"))
    canvas = panel.locator("canvas.painter")
    expect(canvas).to_be_visible()
    canvas.evaluate("(c) => c.scrollIntoView({ block: 'center' })")  # in the viewport, clear of the header
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2, steps=10)
    page.mouse.up()

    def run() -> dict:
        with page.expect_request(lambda r: "/predictions/diffusion" in r.url) as sent:
            panel.get_by_role("button", name="Run").click()
        expect(panel.locator("[data-role=status]")).to_contain_text("done")
        return sent.value.post_data_json

    body = run()
    assert base64.b64decode(body["image"]) == (FIXTURES / "ship.jpg").read_bytes()
    mask = Image.open(io.BytesIO(base64.b64decode(body["mask"]))).convert("L")
    assert mask.getpixel((mask.width // 2, mask.height // 2)) == 255 and mask.getpixel((2, 2)) == 0  # the stroke
    expect(panel.locator("[data-role=status]")).to_contain_text("strength 1")
    shown = shown_image(panel.locator("[data-role=result]"))
    fields = {name: body[name] for name in ("num_samples", "diffusion_steps", "seed")}
    same = tsclient.diffusion(image=FIXTURES / "ship.jpg", mask=base64.b64decode(body["mask"]), **fields)
    assert shown.tobytes() == same.images.convert(shown.mode).tobytes()  # the API's answer for that picture and mask
    screenshot(page, "diffusion", "diffusion-inpainting")

    panel.get_by_role("button", name="Clear mask").click()
    assert "mask" not in run()  # no paint: image-to-image
    expect(panel.locator("[data-role=status]")).to_contain_text("strength 0.8")
    panel.get_by_role("button", name="Remove picture").click()
    assert "image" not in run() and "strength" not in panel.locator("[data-role=status]").inner_text()


def run_and_wait(panel) -> None:
    panel.get_by_role("button", name="Run").click()
    expect(panel.get_by_role("button", name="Run")).to_be_enabled()


def test_a_refusal_of_the_server_shows_alone_in_the_models_section(page, server):
    panel = page.locator("#diffusion")
    for name, value in {"num_samples": "2", "diffusion_steps": "2", "seed": "1"}.items():
        panel.locator(f"input[name={name}]").fill(value)
    run_and_wait(panel)
    expect(panel.locator("[data-role=result]")).to_be_visible()
    panel.locator("input[name=num_samples]").fill("64")
    panel.locator("input[name=diffusion_steps]").fill("1000")  # each in range, their product is not
    run_and_wait(panel)
    cap = cap_in_force(server, "diffusion")  # 2.0's, unguided
    allowed = f"num_samples x diffusion_steps <= {cap}"
    expect(panel.get_by_role("alert")).to_contain_text(allowed)
    assert panel.get_by_role("alert").inner_text().count(allowed) == 1  # said once
    expect(panel.locator("[data-role=status]")).to_have_text("refused")
    expect(panel.locator("[data-role=answer] > *")).to_have_count(0)  # the earlier grid is not left beside it


def test_a_double_click_runs_one_stream(page):
    panel = page.locator("#diffusion")
    for name, value in {"num_samples": "2", "diffusion_steps": "16", "seed": "2"}.items():
        panel.locator(f"input[name={name}]").fill(value)
    sent = []

    def note(request):
        if "/predictions/diffusion" in request.url:
            sent.append(request)
    page.on("request", note)
    panel.get_by_role("button", name="Run").dblclick()
    expect(panel.locator("[data-role=status]")).to_contain_text("done")
    page.wait_for_timeout(500)
    page.remove_listener("request", note)
    assert len(sent) == 1
    expect(panel.locator("[data-role=previews] img")).to_have_count(8)
    assert panel.locator("progress").evaluate("(p) => p.value === p.max")  # one stream's steps, not two


def test_cancel_stops_the_sampler_on_the_server(page, server):
    panel = page.locator("#diffusion")
    steps = min(1000, cap_in_force(server, "diffusion") // 4)
    for name, value in {"num_samples": "4", "diffusion_steps": str(steps), "seed": "3"}.items():
        panel.locator(f"input[name={name}]").fill(value)
    log = server.workdir / "logs" / "model_log.log"
    before = log.stat().st_size
    panel.get_by_role("button", name="Run").click()
    status = panel.locator("[data-role=status]")
    expect(status).to_have_text(re.compile(rf"step \d+ of {steps} · about [\d.,]+ s left"))  # the time left
    panel.get_by_role("button", name="Cancel").click()
    expect(status).to_have_text(re.compile(rf"cancelled at step (\d+) of {steps}"))
    shown_step = int(status.inner_text().split()[3])
    expect(panel.get_by_role("button", name="Cancel")).to_be_hidden()
    deadline = time.time() + 30
    pattern = rf"stream cancelled: every client of this sampler call hung up, at step (\d+) of {steps}"
    with log.open() as lines:
        lines.seek(before)
        written = ""
        while not re.search(pattern, written):  # this request's line, not an earlier test's
            assert time.time() < deadline, "the sampler went on"
            time.sleep(0.2)
            written += lines.read()
    stopped = int(re.findall(pattern, written)[-1])
    assert stopped < shown_step + 20 < steps, (stopped, shown_step)  # at once, long before the end


def test_seeds_reuse_random_and_this_visits_history(page):
    panel = page.locator("#bigram")
    panel.locator("input[name=start_word]").fill("night")
    panel.locator("input[name=length]").fill("8")
    entries = panel.locator("[data-role=history] button")
    earlier = entries.count()
    panel.get_by_role("button", name="Random").click()
    expect(panel.locator("input[name=seed]")).to_have_value("")
    run_and_wait(panel)
    first_text = panel.locator("[data-role=text]").inner_text()
    first_seed = panel.locator("[data-role=seed]").inner_text().removeprefix("seed ")
    panel.get_by_role("button", name="Reuse").click()
    expect(panel.locator("input[name=seed]")).to_have_value(first_seed)
    run_and_wait(panel)
    expect(panel.locator("[data-role=text]")).to_have_text(first_text)  # the same seed, the same text
    panel.get_by_role("button", name="Random").click()
    panel.locator("input[name=length]").fill("5")
    run_and_wait(panel)
    expect(entries).to_have_count(earlier + 3)
    expect(entries.first).to_contain_text("length 5")  # the newest first, with its parameters
    oldest = entries.nth(2)
    expect(oldest).to_contain_text(f"seed {first_seed}")
    oldest.click()
    expect(panel.locator("[data-role=text]")).to_have_text(first_text)
    expect(panel.locator("input[name=length]")).to_have_value("8")  # its settings back in the form
    expect(panel.locator("input[name=seed]")).to_have_value(first_seed)
    expect(oldest).to_have_class(re.compile("current"))


def test_a_result_enlarges_and_downloads_with_its_parameters(page, tsclient):
    panel = page.locator("#gan")
    for name, value in {"num_samples": "4", "digit": "3", "seed": "8"}.items():
        panel.locator(f"input[name={name}]").fill(value)
    run_and_wait(panel)
    viewer = page.locator("#viewer")
    panel.locator("[data-role=result]").click()
    expect(viewer).to_be_visible()
    with page.expect_download() as grid_download:
        viewer.get_by_role("link", name="Download PNG").click()
    grid = Image.open(grid_download.value.path())
    assert grid_download.value.suggested_filename == f"gan-{tsclient.default_version('gan')}-seed8.png"
    assert json.loads(grid.text["parameters"]) == {"model": "gan", "version": tsclient.default_version("gan"),
                                                   "num_samples": 4, "digit": 3, "seed": 8, "format": "grid"}
    viewer.get_by_role("button", name="Close").click()
    samples = panel.locator("[data-role=samples] button")
    expect(samples).to_have_count(4)
    samples.nth(2).click()
    with page.expect_download() as sample_download:
        viewer.get_by_role("link", name="Download PNG").click()
    sample = Image.open(sample_download.value.path())
    assert json.loads(sample.text["parameters"])["sample"] == 2
    expected = tsclient.gan(num_samples=4, digit=3, seed=8, grid=False).images[2]
    assert sample.convert("L").tobytes() == expected.convert("L").tobytes()  # the API's sample 2
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_the_page_reads_on_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        panel = page.locator("#diffusion")
        panel.scroll_into_view_if_needed()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
        form, output = panel.locator("form").bounding_box(), panel.locator(".output").bounding_box()
        assert output["y"] >= form["y"] + form["height"] - 1  # one column: the output under the form
        if os.environ.get("SAVE_SCREENSHOTS"):
            page.screenshot(path=str(SCREENSHOTS / "phone.png"))
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_torchserve_refuses_a_cors_preflight_so_the_page_calls_its_own_origin(server):
    """Why scripts/gateway.py passes /predictions/ on: a browser's preflight carries no key, and
    TorchServe 0.12 checks the key on every request, preflights included."""
    preflight = requests.options(f"{server.inference_url}/predictions/bigram", timeout=30, headers={
        "Origin": "http://127.0.0.1:8090", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 400 and "Token" in preflight.json()["message"]
